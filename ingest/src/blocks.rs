//! Text read 64 bytes at a time, one bit per byte: the scanning step of the flow-log
//! tokenizer (`crate::vpcflow`) and of detection's top-level key walk.

/// The 64 bytes of `text` from `at`, or what is left of them followed by spaces (copied
/// into `pad`).
#[inline(always)]
pub fn block_at<'t>(text: &'t [u8], at: usize, pad: &'t mut [u8; 64]) -> &'t [u8; 64] {
    match text.get(at..at + 64).map(<&[u8; 64]>::try_from) {
        Some(Ok(c)) => c,
        _ => {
            let rest = &text[at.min(text.len())..];
            let n = rest.len().min(64);
            *pad = [b' '; 64];
            pad[..n].copy_from_slice(&rest[..n]);
            pad
        }
    }
}

/// Bit `i` of the result is set when `block[i]` is `byte`.
#[inline(always)]
pub fn byte_mask(block: &[u8; 64], byte: u8) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        };
        let mut mask = 0u64;
        for (k, part) in block.chunks_exact(16).enumerate() {
            // SAFETY: SSE2 is part of the x86_64 baseline, so these intrinsics are available
            // on every x86_64 CPU; `part` is 16 initialized, readable bytes (a
            // `chunks_exact(16)` piece of a 64-byte array) and `_mm_loadu_si128` has no
            // alignment requirement. Checked against a byte loop by
            // `byte_mask_matches_a_byte_loop`, and exercised by every flow record the tests
            // decode.
            let bits = unsafe {
                let v = _mm_loadu_si128(part.as_ptr().cast::<__m128i>());
                _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(byte as i8)))
            } as u16;
            mask |= u64::from(bits) << (16 * k);
        }
        mask
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        // Eight bytes at a time: the high bit of each byte of `z` is set exactly where
        // the byte is `byte`; a multiply gathers those bits into one byte.
        const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
        let spread = u64::from(byte) * 0x0101_0101_0101_0101;
        let mut mask = 0u64;
        for (k, part) in block.chunks_exact(8).enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(part);
            let x = u64::from_le_bytes(w) ^ spread;
            let z = !(((x & LO7) + LO7) | x | LO7);
            let bits = ((z >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56;
            mask |= bits << (8 * k);
        }
        mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn byte_mask_matches_a_byte_loop(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 64),
            byte in proptest::prelude::any::<u8>(),
        ) {
            let block: [u8; 64] = bytes.try_into().expect("64 bytes");
            let want = block
                .iter()
                .enumerate()
                .fold(0u64, |m, (i, &b)| m | (u64::from(b == byte) << i));
            proptest::prop_assert_eq!(byte_mask(&block, byte), want);
        }
    }

    #[test]
    fn a_short_block_is_padded_with_spaces() {
        let mut pad = [0u8; 64];
        let b = block_at(b"ab", 0, &mut pad);
        assert_eq!(&b[..3], b"ab ");
        assert_eq!(byte_mask(b, b' '), !0b11);
        let text = [b'x'; 70];
        assert_eq!(byte_mask(block_at(&text, 0, &mut pad), b'x'), u64::MAX);
        assert_eq!(byte_mask(block_at(&text, 64, &mut pad), b'x'), 0b11_1111);
    }
}
