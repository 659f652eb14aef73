#!/usr/bin/env python3
"""Test vectors for Actorchain's difficulty adjustment (docs/protocol.md "Difficulty"), computed
from the protocol text alone with Python's exact integers, independently of the Go code.

Usage: python3 scripts/asert_vectors.py > chainstate/testdata/asert_vectors.txt

Each line: anchor_height anchor_time_ms anchor_bits ideal_ms halflife_ms parent_height
parent_time_ms -> target_hex bits_hex.
"""

MAX = (1 << 256) - 1


def compact_to_target(c):
    exp, mant = c >> 24, c & 0x007FFFFF
    if c & 0x00800000:
        raise ValueError("negative")
    t = mant >> (8 * (3 - exp)) if exp <= 3 else mant << (8 * (exp - 3))
    if t == 0 or t > MAX:
        raise ValueError("out of range")
    return t


def target_to_compact(t):
    size = (t.bit_length() + 7) // 8
    mant = (t << (8 * (3 - size))) if size <= 3 else (t >> (8 * (size - 3)))
    if mant & 0x00800000:
        mant >>= 8
        size += 1
    return (size << 24) | mant


def next_target(ah, at, atarget, ideal, hl, ph, pt):
    exponent = ((pt - at - ideal * (ph - ah)) * 65536) // hl
    shifts = exponent // 65536
    frac = exponent - shifts * 65536
    factor = 65536 + ((195766423245049 * frac + 971821376 * frac**2 + 5127 * frac**3 + (1 << 47)) >> 48)
    if shifts > 512:
        return MAX
    if shifts < -512:
        return 1
    t = atarget * factor
    t = t << shifts if shifts >= 0 else t >> -shifts
    t >>= 16
    return min(max(t, 1), MAX)


def main():
    cases = []
    t0 = 1_796_000_000_000
    for bits in (0x1F00FFFF, 0x1D00FFFF, 0x207FFFFF, 0x1B0404CB, 0x03123456):
        anchor = compact_to_target(bits)
        for ideal, hl in ((1000, 300_000), (5000, 3_600_000), (600_000, 172_800_000)):
            for dh in (0, 1, 2, 10, 1000, 100_000):
                for skew in (0, 1, -1, hl // 2, -hl // 2, hl, -hl, 3 * hl + 7, -(5 * hl) - 13, 10**13, -(10**13)):
                    pt = t0 + ideal * dh + skew
                    if pt < 0:
                        continue
                    cases.append((1, t0, bits, ideal, hl, 1 + dh, pt))
    for c in cases:
        ah, at, bits, ideal, hl, ph, pt = c
        t = next_target(ah, at, compact_to_target(bits), ideal, hl, ph, pt)
        print(ah, at, "%08x" % bits, ideal, hl, ph, pt, "->", "%064x" % t, "%08x" % target_to_compact(t))


if __name__ == "__main__":
    main()
