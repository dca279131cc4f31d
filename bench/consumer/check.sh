#!/usr/bin/env bash
# The published artifacts as a user gets them: installs attn4j-parent, attn4j, attn4j-cuda and
# attn4j-bom from this checkout into a FRESH local repository (bench/target/consumer/repo, never
# ~/.m2), then builds and tests bench/consumer, which imports the BOM and depends on attn4j and
# attn4j-cuda, against that repository. Third-party artifacts come from ~/.m2 (as a read-only
# file repository) when they are there, else from Maven Central; attn4j itself can only come from
# the fresh repository (snapshots are off for the ~/.m2 one).
#   bash bench/consumer/check.sh        (about 1 minute; run by .ci/run)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
work=$root/bench/target/consumer
repo=$work/repo
rm -rf "$work"
mkdir -p "$work"
m2="${M2_REPO:-$HOME/.m2/repository}"
cat > "$work/settings.xml" <<XML
<settings>
  <profiles>
    <profile>
      <id>user-m2</id>
      <repositories>
        <repository>
          <id>user-m2</id>
          <url>file://$m2</url>
          <snapshots><enabled>false</enabled></snapshots>
        </repository>
      </repositories>
      <pluginRepositories>
        <pluginRepository>
          <id>user-m2</id>
          <url>file://$m2</url>
          <snapshots><enabled>false</enabled></snapshots>
        </pluginRepository>
      </pluginRepositories>
    </profile>
  </profiles>
  <activeProfiles><activeProfile>user-m2</activeProfile></activeProfiles>
</settings>
XML
mvn_fresh() { mvn -B -q -s "$work/settings.xml" -Dmaven.repo.local="$repo" "$@"; }

version=$(sed -n 's:^  <version>\(.*\)</version>:\1:p' pom.xml | head -1)
echo "consumer check: installing attn4j $version into $repo"
mvn_fresh install -pl :attn4j-parent,:attn4j,:attn4j-cuda,:attn4j-bom \
  -DskipTests -Dattn4j.skipKernels="${ATTN4J_SKIP_KERNELS:-true}" -Dmaven.javadoc.skip=true -Dmaven.source.skip=true
echo "consumer check: building bench/consumer against it"
mvn_fresh test -f bench/consumer/pom.xml -Dattn4j.version="$version" \
  -DargLine="-Dconsumer.repo=$repo"
echo "consumer check: OK"
