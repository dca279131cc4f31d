/*
 * softmax_ab.c: A/B timing of two builds of kernels/opencl/softmax.cl on OpenCL device 0 (PoCL),
 * interleaved with a clEnqueueCopyBuffer of the same bytes, so that a loaded host moves all three
 * alike. Used for the row-per-work-item softmax (bench/results/NOTES-softmax-opencl.md).
 *
 *   gcc -O2 bench/tools/softmax_ab.c -o /tmp/softmax_ab -l:libOpenCL.so.1
 *   O="-DDT_F32=1 -DDT_SUFFIX=f32 -DROW_THREADS=1 -DROWS_PER_WG=1 -DROW_PER_ITEM=1 -DVW=16 -w"
 *   SMA=kernels/opencl/softmax.cl SMB=/tmp/variant.cl /tmp/softmax_ab R N ITEMS "$O" "$O"
 *   ENTRY=attn_masked_softmax_bwd_f32 ...   times the backward (dX from Y = dY = X) instead
 *
 * Prints the mean ms of A, B and the copy over 6 rounds of 5 launches each; "% of copy" is the
 * copy's time over the kernel's (the forward moves the same bytes as the copy, the backward 1.5x).
 * The OpenCL prototypes are declared here, so no OpenCL headers are needed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
typedef int cl_int; typedef unsigned int cl_uint; typedef unsigned long cl_ulong; typedef void* cl_platform_id; typedef void* cl_device_id;
typedef void* cl_context; typedef void* cl_command_queue; typedef void* cl_program; typedef void* cl_kernel; typedef void* cl_mem; typedef cl_ulong cl_bitfield;
extern cl_int clGetPlatformIDs(cl_uint, cl_platform_id*, cl_uint*);
extern cl_int clGetDeviceIDs(cl_platform_id, cl_bitfield, cl_uint, cl_device_id*, cl_uint*);
extern cl_context clCreateContext(void*, cl_uint, const cl_device_id*, void*, void*, cl_int*);
extern cl_command_queue clCreateCommandQueue(cl_context, cl_device_id, cl_bitfield, cl_int*);
extern cl_program clCreateProgramWithSource(cl_context, cl_uint, const char**, const size_t*, cl_int*);
extern cl_int clBuildProgram(cl_program, cl_uint, const cl_device_id*, const char*, void*, void*);
extern cl_int clGetProgramBuildInfo(cl_program, cl_device_id, cl_uint, size_t, void*, size_t*);
extern cl_kernel clCreateKernel(cl_program, const char*, cl_int*);
extern cl_mem clCreateBuffer(cl_context, cl_bitfield, size_t, void*, cl_int*);
extern cl_int clSetKernelArg(cl_kernel, cl_uint, size_t, const void*);
extern cl_int clEnqueueNDRangeKernel(cl_command_queue, cl_kernel, cl_uint, const size_t*, const size_t*, const size_t*, cl_uint, void*, void*);
extern cl_int clEnqueueCopyBuffer(cl_command_queue, cl_mem, cl_mem, size_t, size_t, size_t, cl_uint, void*, void*);
extern cl_int clFinish(cl_command_queue);
static char* rd(const char* f){FILE*F=fopen(f,"rb");fseek(F,0,2);long n=ftell(F);fseek(F,0,0);char*b=malloc(n+1);fread(b,1,n,F);b[n]=0;fclose(F);return b;}
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
#include "../../kernels/attn_params.h"
int main(int argc,char**argv){
  int R=atoi(argv[1]),N=atoi(argv[2]),items=atoi(argv[3]); const char* opts=argv[4];
  cl_platform_id pl; cl_device_id d; cl_int e; clGetPlatformIDs(1,&pl,0); clGetDeviceIDs(pl,0xFFFFFFFF,1,&d,0);
  cl_context c=clCreateContext(0,1,&d,0,0,&e); cl_command_queue q=clCreateCommandQueue(c,d,0,&e);
  cl_kernel ks[2];
  for(int v=0;v<2;v++){
  const char* src[3]={rd("kernels/attn_params.h"),rd("kernels/opencl/common.cl"),rd(getenv(v?"SMB":"SMA"))};
  cl_program p=clCreateProgramWithSource(c,3,src,0,&e); e=clBuildProgram(p,1,&d,v?argv[5]:opts,0,0);
  if(e){char log[20000];clGetProgramBuildInfo(p,d,0x1183,sizeof log,log,0);printf("build %d %s\n",e,log);return 1;}
  ks[v]=clCreateKernel(p,getenv("ENTRY")?getenv("ENTRY"):"attn_masked_softmax_f32",&e);}
  cl_kernel k=ks[0];
  size_t bytes=(size_t)R*N*4; float*h=malloc(bytes); for(size_t i=0;i<(size_t)R*N;i++)h[i]=(float)(i%97)/50.0f-1;
  cl_mem x=clCreateBuffer(c,1|(1<<5),bytes,h,&e), y=clCreateBuffer(c,1,bytes,0,&e), z=clCreateBuffer(c,1,64,0,&e);
  attn_softmax_params sp; memset(&sp,0,sizeof sp);
  sp.x_sb=(long)R*N; sp.x_sh=(long)R*N; sp.x_sq=N; sp.x_sk=1; sp.y_sb=(long)R*N; sp.y_sh=(long)R*N; sp.y_sq=N; sp.y_sk=1;
  sp.batch=1; sp.heads=1; sp.seq_q=R; sp.seq_k=N; sp.scale=1; sp.m.win_left=-1; sp.m.win_right=-1;
  for(int v=0;v<2;v++){k=ks[v];
  if(getenv("ENTRY")){attn_softmax_bwd_params bp; memset(&bp,0,sizeof bp); bp.y_sq=N;bp.y_sk=1;bp.dy_sq=N;bp.dy_sk=1;bp.dx_sq=N;bp.dx_sk=1;bp.y_sb=bp.y_sh=bp.dy_sb=bp.dy_sh=bp.dx_sb=bp.dx_sh=(long)R*N;bp.batch=1;bp.heads=1;bp.seq_q=R;bp.seq_k=N;bp.scale=1;
   clSetKernelArg(k,0,sizeof bp,&bp); clSetKernelArg(k,1,8,&x); clSetKernelArg(k,2,8,&x); clSetKernelArg(k,3,8,&y);}
  else {clSetKernelArg(k,0,sizeof sp,&sp); clSetKernelArg(k,1,8,&x); clSetKernelArg(k,2,8,&y); for(int a=3;a<8;a++)clSetKernelArg(k,a,8,&z);}}
  size_t g[2]={items,1}, l[2]={1,1};

  for(int v=0;v<2;v++)for(int w=0;w<3;w++)clEnqueueNDRangeKernel(q,ks[v],2,0,g,l,0,0,0); clFinish(q);
  double sa=0,sb=0,sc=0;
  for(int round=0;round<6;round++){
  double t0=now(); for(int i=0;i<5;i++)clEnqueueNDRangeKernel(q,ks[0],2,0,g,l,0,0,0); clFinish(q); double t=(now()-t0)/5;
  double t2=now(); for(int i=0;i<5;i++)clEnqueueNDRangeKernel(q,ks[1],2,0,g,l,0,0,0); clFinish(q); double tb=(now()-t2)/5; sa+=t;sb+=tb;
  double t1=now(); for(int i=0;i<5;i++)clEnqueueCopyBuffer(q,x,y,0,0,bytes,0,0,0); clFinish(q); double tc=(now()-t1)/5;
  sc+=tc;}
  double f = getenv("ENTRY") ? 1.5 : 1.0; /* bytes moved relative to the copy */
  printf("A %.1f ms  B %.1f ms  copy %.1f ms: A %.0f%%, B %.0f%% of the copy bandwidth\n",sa/6*1e3,sb/6*1e3,sc/6*1e3,100*f*sc/sa,100*f*sc/sb);
}
