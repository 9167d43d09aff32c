/* Wine 8 (Debian 12's) has no bcryptprimitives.dll, whose ProcessPrng Rust's standard
 * library calls for random bytes on Windows; Windows 10 and later, and Wine 9, have it.
 * scripts/build-windows.sh builds this stand-in beside hbc.exe for the tests under
 * Wine only: ProcessPrng from RtlGenRandom (advapi32's SystemFunction036). It is not
 * shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG part = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, part)) {
            return FALSE;
        }
        data += part;
        length -= part;
    }
    return TRUE;
}
