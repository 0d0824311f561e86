// glibc's allocator controls (malloc_trim, mallinfo2); Swift's Glibc module leaves malloc.h out.
#include <malloc.h>
