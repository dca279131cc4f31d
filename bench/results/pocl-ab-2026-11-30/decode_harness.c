/* A standalone OpenCL host for kernels/opencl/sdpa_decode.cl: B=1, Hq=32, Hkv=8, D=128 f32 decode over Sk keys in
 * SPLITS splits, best-of-10 kernel time from profiling events, checked against a float64 evaluation of every
 * fifth head. ALIAS=1 in the environment gives every key the same K/V row (stride 0), so that the data stay in
 * L1 and the time is the kernel's arithmetic alone (the check then fails by design). F16=1 stores Q, K, V and O as
 * f16 (the check then uses the f16-rounded inputs; added 2026-12-01 for ../decode-prefetch-pocl).
 * Added for ../decode-compute-pocl: ITERS=N runs (default 12; the first 2 untimed); ONEPAGE=1 points every block-table
 * entry at page 0 (a paged run whose K/V stay in cache: its arithmetic alone; the check still holds); COPY=1 also
 * times clEnqueueCopyBuffer of 256 MiB (the bench's copy ceiling: GB/s counts the read and the write). The line
 * ends with the arithmetic rate (QK and PV: 4 * Hq * Sk * D flops).
 * Build (repository root): gcc -O2 -o /tmp/dech bench/results/pocl-ab-2026-11-30/decode_harness.c -lOpenCL -lm
 * Run:   /tmp/dech kernels/opencl/sdpa_decode.cl SK SPLITS "-DDEC_BN=16" [PAGE_SIZE HKB]   (from the repository root) */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include <sys/resource.h>
static double cpusec(){struct rusage r;getrusage(RUSAGE_SELF,&r);return r.ru_utime.tv_sec+r.ru_utime.tv_usec*1e-6+r.ru_stime.tv_sec+r.ru_stime.tv_usec*1e-6;}
#include "../../../kernels/attn_params.h"
static char* slurp(const char* p){FILE*f=fopen(p,"rb");fseek(f,0,2);long n=ftell(f);fseek(f,0,0);char*b=malloc(n+1);fread(b,1,n,f);b[n]=0;fclose(f);return b;}
#define CK(x) do{cl_int _e=(x); if(_e){printf("err %d line %d\n",_e,__LINE__);exit(1);}}while(0)
static int F16;
/* float <-> f16 bits (round to nearest even; the inputs here are finite and within f16's range) */
static unsigned short f2h(float f){ unsigned u; memcpy(&u,&f,4); unsigned s=(u>>16)&0x8000u; int e=(int)((u>>23)&0xff)-127+15; unsigned m=u&0x7fffffu;
  if(e<=0){ if(e<-10) return (unsigned short)s; m|=0x800000u; int sh=14-e; unsigned r=m>>sh, rem=m&((1u<<sh)-1), half=1u<<(sh-1); if(rem>half||(rem==half&&(r&1)))r++; return (unsigned short)(s|r); }
  unsigned r=((unsigned)e<<10)|(m>>13), rem=m&0x1fffu; if(rem>0x1000u||(rem==0x1000u&&(r&1)))r++; return (unsigned short)(s|r); }
static float h2f(unsigned short h){ unsigned s=(h&0x8000u)<<16, e=(h>>10)&0x1f, m=h&0x3ffu, u; float f;
  if(e==0){ f=ldexpf((float)m,-24); return s?-f:f; } u=s|((e-15+127)<<23)|(m<<13); memcpy(&f,&u,4); return f; }
/* with F16: the f16 copy of a (and a rounded to it, for the float64 check) */
static void* tohalf(float*a,long n){ if(!F16) return a; unsigned short*h=malloc(2*n); for(long i=0;i<n;i++){h[i]=f2h(a[i]); a[i]=h2f(h[i]);} return h;}
int main(int argc,char**argv){
  const char* kfile=argv[1]; int Sk=atoi(argv[2]); int splits=atoi(argv[3]); const char* extra=argc>4?argv[4]:""; int ps=argc>5?atoi(argv[5]):0; int hkb=argc>6?atoi(argv[6]):1;
  int B=1,Hq=32,Hkv=8,D=128,G=Hq/Hkv;
  cl_platform_id pl; clGetPlatformIDs(1,&pl,0); cl_device_id dev; clGetDeviceIDs(pl,CL_DEVICE_TYPE_ALL,1,&dev,0);
  cl_int e; cl_context ctx=clCreateContext(0,1,&dev,0,0,&e); cl_command_queue q=clCreateCommandQueue(ctx,dev,CL_QUEUE_PROFILING_ENABLE,&e);
  char* s1=slurp("kernels/attn_params.h"),*s2=slurp("kernels/opencl/common.cl"),*s3=slurp(kfile);
  char* src=malloc(strlen(s1)+strlen(s2)+strlen(s3)+4); sprintf(src,"%s\n%s\n%s",s1,s2,s3);
  const char* srcs[1]={src}; cl_program p=clCreateProgramWithSource(ctx,1,srcs,0,&e);
  F16=getenv("F16")!=0; char opts[1024]; sprintf(opts,"%s ",F16?"-DDT_F16=1 -DDT_SUFFIX=f16":"-DDT_F32=1 -DDT_SUFFIX=f32"); sprintf(opts+strlen(opts),"-DHEAD_DIM=128 -DHEAD_DIM_V=128 -DGROUP=%d -DVW=8 -DPAGED=%d -DDEC_HKB=%d %s",G,ps>0,hkb,extra);
  e=clBuildProgram(p,1,&dev,opts,0,0);
  if(e){static char log[1<<20];clGetProgramBuildInfo(p,dev,CL_PROGRAM_BUILD_LOG,sizeof log,log,0);printf("build %d\n%s\n",e,log);return 1;}
  cl_kernel kd=clCreateKernel(p,F16?"attn_sdpa_decode_f16":"attn_sdpa_decode_f32",&e); CK(e); cl_kernel kc=clCreateKernel(p,F16?"attn_sdpa_combine_f16":"attn_sdpa_combine_f32",&e); CK(e);
  long nq=(long)B*Hq*D, nk=(long)B*Hkv*Sk*D;
  float*Q=malloc(4*nq),*K=malloc(4*nk),*V=malloc(4*nk),*O=malloc(4*nq);
  srand(1); for(long i=0;i<nq;i++)Q[i]=(rand()/(float)RAND_MAX-0.5f)*2; for(long i=0;i<nk;i++){K[i]=(rand()/(float)RAND_MAX-0.5f)*2;V[i]=(rand()/(float)RAND_MAX-0.5f)*2;}
  int es=F16?2:4; cl_mem bq=clCreateBuffer(ctx,CL_MEM_COPY_HOST_PTR,es*nq,tohalf(Q,nq),&e),bk=clCreateBuffer(ctx,CL_MEM_COPY_HOST_PTR,es*nk,tohalf(K,nk),&e),bv=clCreateBuffer(ctx,CL_MEM_COPY_HOST_PTR,es*nk,tohalf(V,nk),&e);
  cl_mem bo=clCreateBuffer(ctx,0,4*nq,0,&e),dummy=clCreateBuffer(ctx,0,64,0,&e);
  long rows=(long)B*Hq; cl_mem ws=clCreateBuffer(ctx,0,4L*splits*rows*(D+1),0,&e);
  attn_sdpa_params pr; memset(&pr,0,sizeof pr);
  pr.q_sb=Hq*D;pr.q_sh=D;pr.q_ss=D;pr.q_sd=1; pr.k_sb=(long)Hkv*Sk*D;pr.k_sh=(long)Sk*D;pr.k_ss=D;pr.k_sd=1; pr.v_sb=pr.k_sb;pr.v_sh=pr.k_sh;pr.v_ss=D;pr.v_sd=1;
  pr.o_sb=Hq*D;pr.o_sh=D;pr.o_ss=D;pr.o_sd=1; pr.batch=B;pr.heads_q=Hq;pr.heads_kv=Hkv;pr.group=G;pr.seq_q=1;pr.seq_k=Sk;pr.head_dim=D;pr.head_dim_v=D;
  pr.scale=1.0f/sqrtf(D); pr.scale_log2=pr.scale*1.4426950408889634f; pr.m.win_left=-1; pr.m.win_right=-1;
  if(getenv("ALIAS")){pr.k_ss=0;pr.v_ss=0;}
  int npages=ps>0?(Sk+ps-1)/ps:0; int* bt=malloc(4L*(npages+1)); for(int i=0;i<npages;i++)bt[i]=getenv("ONEPAGE")?0:(i*7919)%npages; /* scrambled page order */
  cl_mem btb=clCreateBuffer(ctx,CL_MEM_COPY_HOST_PTR,4L*(npages+1),bt,&e);
  if(ps>0){ pr.k_sb=(long)ps*Hkv*D; pr.k_ss=(long)Hkv*D; pr.k_sh=D; pr.v_sb=pr.k_sb; pr.v_ss=pr.k_ss; pr.v_sh=D; pr.page_size=ps; pr.num_pages=npages; pr.bt_sb=npages; pr.bt_sp=1; }
  cl_mem args[]={bq,bk,bv,bo,dummy,dummy,dummy,dummy,dummy,dummy,dummy,ps>0?btb:dummy,ws,ws};
  CK(clSetKernelArg(kd,0,sizeof pr,&pr)); for(int i=0;i<14;i++) CK(clSetKernelArg(kd,1+i,sizeof(cl_mem),&args[i])); CK(clSetKernelArg(kd,15,4,&splits));
  CK(clSetKernelArg(kc,0,sizeof pr,&pr)); CK(clSetKernelArg(kc,1,sizeof(cl_mem),&ws)); CK(clSetKernelArg(kc,2,sizeof(cl_mem),&ws)); CK(clSetKernelArg(kc,3,sizeof(cl_mem),&bo)); CK(clSetKernelArg(kc,4,sizeof(cl_mem),&dummy)); CK(clSetKernelArg(kc,5,4,&splits));
  size_t g[2]={splits,B*Hkv/hkb},l[2]={1,1}; size_t gc[1]={rows},lc[1]={1};
  double best=1e9,bestc=1e9; double cpu0=0;
  const int NIT=getenv("ITERS")?atoi(getenv("ITERS")):12;
  for(int it=0;it<NIT;it++){if(it==2)cpu0=cpusec(); cl_event ev,ec; CK(clEnqueueNDRangeKernel(q,kd,2,0,g,l,0,0,&ev)); CK(clEnqueueNDRangeKernel(q,kc,1,0,gc,lc,0,0,&ec)); clFinish(q);
    cl_ulong s,t; clGetEventProfilingInfo(ev,CL_PROFILING_COMMAND_START,8,&s,0);clGetEventProfilingInfo(ev,CL_PROFILING_COMMAND_END,8,&t,0); double ms=(t-s)*1e-6; if(it>1&&ms<best)best=ms;
    clGetEventProfilingInfo(ec,CL_PROFILING_COMMAND_START,8,&s,0);clGetEventProfilingInfo(ec,CL_PROFILING_COMMAND_END,8,&t,0); ms=(t-s)*1e-6; if(it>1&&ms<bestc)bestc=ms;}
  double cpums=(cpusec()-cpu0)/(NIT-2)*1e3;
  if(F16){unsigned short*oh=malloc(2*nq); clEnqueueReadBuffer(q,bo,1,0,2*nq,oh,0,0,0); for(long i=0;i<nq;i++)O[i]=h2f(oh[i]);} else clEnqueueReadBuffer(q,bo,1,0,4*nq,O,0,0,0);
  double maxerr=0; for(int h=0;h<Hq;h+=5){int hk=h/G; double mx=-1e30; double* sc=malloc(8L*Sk); for(int j=0;j<Sk;j++){long kro= ps>0 ? (long)bt[j/ps]*pr.k_sb+(j%ps)*pr.k_ss+hk*pr.k_sh : ((long)hk*Sk+j)*D; double d=0;for(int x=0;x<D;x++)d+=(double)Q[h*D+x]*K[kro+x]; sc[j]=d/sqrt(D); if(sc[j]>mx)mx=sc[j];}
    double sum=0; for(int j=0;j<Sk;j++){sc[j]=exp(sc[j]-mx);sum+=sc[j];} for(int x=0;x<D;x++){double o=0; for(int j=0;j<Sk;j++){long kro= ps>0 ? (long)bt[j/ps]*pr.k_sb+(j%ps)*pr.k_ss+hk*pr.k_sh : ((long)hk*Sk+j)*D; o+=sc[j]*V[kro+x];} o/=sum; double d=fabs(o-O[h*D+x]); if(d>maxerr)maxerr=d;} free(sc);}
  double copy=0; if(getenv("COPY")){ size_t cb=256u<<20; cl_mem c0=clCreateBuffer(ctx,0,cb,0,&e),c1=clCreateBuffer(ctx,0,cb,0,&e); unsigned char fill=0x3c;
    CK(clEnqueueFillBuffer(q,c0,&fill,1,0,cb,0,0,0)); CK(clEnqueueFillBuffer(q,c1,&fill,1,0,cb,0,0,0)); double bc=1e9;
    for(int it=0;it<NIT;it++){cl_event ev; CK(clEnqueueCopyBuffer(q,c0,c1,0,0,cb,0,0,&ev)); clFinish(q); cl_ulong s,t; clGetEventProfilingInfo(ev,CL_PROFILING_COMMAND_START,8,&s,0);clGetEventProfilingInfo(ev,CL_PROFILING_COMMAND_END,8,&t,0); double ms=(t-s)*1e-6; if(it>1&&ms<bc)bc=ms;}
    copy=2.0*cb/bc/1e6; clReleaseMemObject(c0); clReleaseMemObject(c1); }
  double bytes=2.0*nk*es, flops=4.0*Hq*Sk*D; printf("Sk=%d splits=%d decode %.3f ms (%.1f GB/s) combine %.3f ms cpu/iter %.2f ms maxerr %.2e gflops %.1f",Sk,splits,best,bytes/best/1e6,bestc,cpums,maxerr,flops/best/1e6);
  if(copy>0) printf(" copy %.1f GB/s", copy);
  printf("\n");
}
