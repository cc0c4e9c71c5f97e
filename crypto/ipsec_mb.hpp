// The one place that includes ipsec-mb's header, without its pre-0.53 compatibility macros
// (which define names as short as GCM, ENCRYPT and AES_128_BYTES).
#pragma once

#ifndef NO_COMPAT_IMB_API_053
#define NO_COMPAT_IMB_API_053
#endif
#include <intel-ipsec-mb.h>
