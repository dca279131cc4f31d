/*
 * half_host.h: host conversions between float and the fp16 / bf16 bit patterns (round to nearest
 * even), shared by the emulation (tc_emu.h) and the test driver in both of its builds.
 */
#ifndef ATTN_TC_HALF_HOST_H
#define ATTN_TC_HALF_HOST_H

#include <cmath>
#include <cstdint>
#include <cstring>

inline uint32_t emu_f2u(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline float emu_u2f(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

inline float emu_half_to_float(uint16_t h) {
    const uint32_t s = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    if (e == 0x1f) return emu_u2f(s | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0));
    if (e == 0) { /* subnormal or zero */
        const float v = std::ldexp((float)m, -24);
        return s ? -v : v;
    }
    return emu_u2f(s | ((e + 112) << 23) | (m << 13));
}
inline uint16_t emu_float_to_half(float f) { /* round to nearest even */
    const uint32_t u = emu_f2u(f), s = (u >> 16) & 0x8000;
    if (std::isnan(f)) return (uint16_t)(s | 0x7e00);
    const float a = std::fabs(f);
    if (a >= 65520.f) return (uint16_t)(s | 0x7c00); /* rounds to inf */
    if (a < std::ldexp(1.f, -14)) {                    /* subnormal: multiples of 2^-24 */
        const float q = std::nearbyint(a * std::ldexp(1.f, 24));
        return (uint16_t)(s | (uint32_t)q);
    }
    const uint32_t e = ((emu_f2u(a) >> 23) & 0xff) - 112, m = emu_f2u(a) & 0x7fffff;
    uint32_t h = (e << 10) | (m >> 13);
    const uint32_t rest = m & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;
    return (uint16_t)(s | h);
}
inline float emu_bf16_to_float(uint16_t b) { return emu_u2f((uint32_t)b << 16); }
inline uint16_t emu_float_to_bf16(float f) {
    uint32_t u = emu_f2u(f);
    if (std::isnan(f)) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fff + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

#endif /* ATTN_TC_HALF_HOST_H */
