/* A standalone OpenCL host for the row-per-item masked softmax forward of kernels/opencl/softmax.cl (the CPU
 * form the planner picks on PoCL: 16 work-items, VW = 16, SM_EBUF = 32768): R rows of N keys, scale 0.7, a bool mask
 * [R, N] with every tenth key masked (used when EXTRA holds -DHAS_BOOL_MASK=1), best and mean of REPS kernel times
 * from profiling events, checked against float64 on every 64th row (f16: relative to max(|y|, 6e-5)).
 * Build (repository root): gcc -O2 -I kernels -o /tmp/smh bench/results/softmax-masked-pocl/softmax_harness.c -lOpenCL -lm
 * Run:   /tmp/smh kernels/opencl/softmax.cl R N f16|f32 "-DHAS_BOOL_MASK=1 [-DSTORE_NT=1]" [REPS]  (repository root) */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "attn_params.h"
static char* slurp(const char* p){FILE*f=fopen(p,"rb");fseek(f,0,2);long n=ftell(f);fseek(f,0,0);char*b=malloc(n+1);fread(b,1,n,f);b[n]=0;fclose(f);return b;}
#define CK(x) do{cl_int _e=(x); if(_e){printf("err %d line %d\n",_e,__LINE__);exit(1);}}while(0)
static float h2f(unsigned short h){unsigned s=(h>>15)&1,e=(h>>10)&31,m=h&1023;float v; if(e==0)v=ldexpf(m,-24); else if(e==31)v=m?NAN:INFINITY; else v=ldexpf(m+1024,e-25); return s?-v:v;}
static unsigned short f2h(float f){ /* rough rte for test data in normal range */ if(f==0)return 0; int e; float m=frexpf(fabsf(f),&e); /* f = m*2^e, m in [0.5,1) */ int E=e-1+15; if(E<=0) return 0; long mm=lrintf((m*2-1)*1024); if(mm==1024){mm=0;E++;} return (f<0?0x8000:0)|(E<<10)|mm;}
int main(int argc,char**argv){
  const char* kfile=argv[1]; long R=atol(argv[2]); int N=atoi(argv[3]); int f16=!strcmp(argv[4],"f16"); const char* extra=argc>5?argv[5]:""; int reps=argc>6?atoi(argv[6]):20;
  cl_platform_id pl; clGetPlatformIDs(1,&pl,0); cl_device_id dev; clGetDeviceIDs(pl,CL_DEVICE_TYPE_ALL,1,&dev,0);
  cl_int e; cl_context ctx=clCreateContext(0,1,&dev,0,0,&e); cl_command_queue q=clCreateCommandQueue(ctx,dev,CL_QUEUE_PROFILING_ENABLE,&e);
  char* s1=slurp("kernels/attn_params.h"),*s2=slurp("kernels/opencl/common.cl"),*s3=slurp(kfile);
  char* src=malloc(strlen(s1)+strlen(s2)+strlen(s3)+4); sprintf(src,"%s\n%s\n%s",s1,s2,s3);
  const char* srcs[1]={src}; cl_program p=clCreateProgramWithSource(ctx,1,srcs,0,&e);
  char opts[2048]; sprintf(opts,"-cl-std=CL1.2 -w -D%s=1 -DDT_SUFFIX=%s -DROW_THREADS=1 -DROWS_PER_WG=1 -DROW_PER_ITEM=1 -DVW=16 -DSM_EBUF=32768 -DHAS_BIAS=0 -DHAS_ALIBI=0 -DHAS_WINDOW=0 -DHAS_KV_LEN=0 -DHAS_Q_LEN=0 %s",f16?"DT_F16":"DT_F32",f16?"f16":"f32",extra);
  e=clBuildProgram(p,1,&dev,opts,0,0);
  if(e){static char log[1<<20];clGetProgramBuildInfo(p,dev,CL_PROGRAM_BUILD_LOG,sizeof log,log,0);printf("build %d\n%s\n",e,log);return 1;}
  char kn[64]; sprintf(kn,"attn_masked_softmax_%s",f16?"f16":"f32");
  cl_kernel k=clCreateKernel(p,kn,&e); CK(e);
  int es=f16?2:4; long n=R*N;
  void* X=malloc(es*n); float* Xf=malloc(4*n);
  srand(3); for(long i=0;i<n;i++){ float v=(rand()/(float)RAND_MAX-0.5f)*8; if(f16){unsigned short h=f2h(v); ((unsigned short*)X)[i]=h; Xf[i]=h2f(h);} else {((float*)X)[i]=v; Xf[i]=v;} }
  cl_mem bx=clCreateBuffer(ctx,CL_MEM_COPY_HOST_PTR,es*n,X,&e),by=clCreateBuffer(ctx,0,es*n,0,&e),dummy=clCreateBuffer(ctx,0,64,0,&e);
  unsigned char* M=malloc(n); for(long i=0;i<n;i++) M[i]=(i%10)!=3; cl_mem bm=clCreateBuffer(ctx,CL_MEM_COPY_HOST_PTR,n,M,&e);
  attn_softmax_params pr; memset(&pr,0,sizeof pr);
  pr.x_sb=(long)R*N; pr.x_sh=(long)R*N; pr.x_sq=N; pr.x_sk=1; pr.y_sb=pr.x_sb; pr.y_sh=pr.x_sh; pr.y_sq=N; pr.y_sk=1;
  pr.batch=1; pr.heads=1; pr.seq_q=R; pr.seq_k=N; pr.scale=0.7f; pr.m.win_left=-1; pr.m.win_right=-1; pr.m.mask_sq=N; pr.m.mask_sk=1; pr.m.mask_sb=0; pr.m.mask_sh=0;
  CK(clSetKernelArg(k,0,sizeof pr,&pr)); cl_mem a[]={bx,by,bm,dummy,dummy,dummy,dummy}; for(int i=0;i<7;i++) CK(clSetKernelArg(k,1+i,sizeof(cl_mem),&a[i]));
  size_t g[2]={16,1},l[2]={1,1};
  double best=1e9, sum=0; int cnt=0;
  for(int it=0;it<reps+2;it++){ cl_event ev; CK(clEnqueueNDRangeKernel(q,k,2,0,g,l,0,0,&ev)); clFinish(q); cl_ulong t0,t1; clGetEventProfilingInfo(ev,CL_PROFILING_COMMAND_START,8,&t0,0); clGetEventProfilingInfo(ev,CL_PROFILING_COMMAND_END,8,&t1,0); double ms=(t1-t0)*1e-6; if(it>=2){ if(ms<best)best=ms; sum+=ms; cnt++;} clReleaseEvent(ev);}
  void* Y=malloc(es*n); CK(clEnqueueReadBuffer(q,by,1,0,es*n,Y,0,0,0));
  double maxerr=0; int masked=strstr(extra,"HAS_BOOL_MASK=1")!=0;
  for(long r=0;r<R;r+= (R>64? R/64:1)){ double mx=-1e300; for(int j=0;j<N;j++){double z=(double)pr.scale*Xf[r*N+j]; if((!masked||M[r*N+j])&&z>mx)mx=z;} double s=0; for(int j=0;j<N;j++) if(!masked||M[r*N+j]) s+=exp((double)pr.scale*Xf[r*N+j]-mx); for(int j=0;j<N;j++){ double ref=(!masked||M[r*N+j])?exp((double)pr.scale*Xf[r*N+j]-mx)/s:0; double got=f16?h2f(((unsigned short*)Y)[r*N+j]):((float*)Y)[r*N+j]; double err=fabs(got-ref)/(fabs(ref)+(f16?6e-5:1e-30)); if(err>maxerr)maxerr=err; } }
  double gbs=2.0*es*n/(best*1e-3)/1e9;
  printf("R=%ld N=%d %s best %.3f ms median-ish avg %.3f ms  %.2f GB/s  %.2f Gelem/s  maxrel %.2e  [%s]\n",R,N,f16?"f16":"f32",best,sum/cnt,gbs,n/(best*1e-3)/1e9,maxerr,extra);
  return 0;
}
