//! Text encodings of CSV extracts: UTF-8 (with or without BOM) or Windows-1258, declared or
//! detected, decoded to UTF-8 as a stream.

use std::io::{self, BufRead, Read};

use encoding_rs::{CoderResult, Decoder, WINDOWS_1258};

pub use ansinh_core::TextEncoding;

/// Decides the encoding of a stream from its first block.
pub(crate) fn detect(first_block: &[u8]) -> TextEncoding {
    if first_block.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return TextEncoding::Utf8;
    }
    match std::str::from_utf8(first_block) {
        Ok(_) => TextEncoding::Utf8,
        // An incomplete sequence at the very end of the block is a cut, not an error.
        Err(e) if e.error_len().is_none() => TextEncoding::Utf8,
        Err(_) => TextEncoding::Windows1258,
    }
}

/// A reader that yields UTF-8 from Windows-1258 input, streaming.
pub(crate) struct Windows1258Reader<R> {
    inner: R,
    decoder: Decoder,
    pending: Vec<u8>,
    start: usize,
    done: bool,
}

impl<R: BufRead> Windows1258Reader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            decoder: WINDOWS_1258.new_decoder_without_bom_handling(),
            pending: Vec::with_capacity(64 * 1024),
            start: 0,
            done: false,
        }
    }

    fn refill(&mut self) -> io::Result<()> {
        self.pending.clear();
        self.start = 0;
        while self.pending.is_empty() && !self.done {
            let input = self.inner.fill_buf()?;
            let last = input.is_empty();
            // Every Windows-1258 byte decodes to at most 3 UTF-8 bytes.
            let mut out = vec![0u8; input.len() * 3 + 16];
            let (result, read, written, _) = self.decoder.decode_to_utf8(input, &mut out, last);
            debug_assert!(matches!(result, CoderResult::InputEmpty));
            out.truncate(written);
            self.pending = out;
            self.inner.consume(read);
            self.done = last;
        }
        Ok(())
    }
}

impl<R: BufRead> Read for Windows1258Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.start >= self.pending.len() {
            self.refill()?;
        }
        let available = &self.pending[self.start..];
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.start += n;
        Ok(n)
    }
}

/// Encodes UTF-8 text as Windows-1258, the way Vietnamese office software writes it: base
/// letters with circumflex, breve or horn are precomposed and tone marks are combining
/// characters. Characters with no representation become `?`.
pub fn encode_windows_1258(text: &str) -> Vec<u8> {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::compose;
    let mut encoder = WINDOWS_1258.new_encoder();
    let mut out = Vec::with_capacity(text.len());
    let mut push = |s: &str, out: &mut Vec<u8>| {
        let mut buf = vec![0u8; s.len() * 2 + 8];
        let (result, _, written) = encoder.encode_from_utf8_without_replacement(s, &mut buf, false);
        match result {
            encoding_rs::EncoderResult::InputEmpty => {
                out.extend_from_slice(&buf[..written]);
                true
            }
            _ => false,
        }
    };
    for ch in text.nfc() {
        let mut tmp = [0u8; 4];
        if push(ch.encode_utf8(&mut tmp), &mut out) {
            continue;
        }
        // Decompose, recompose the vowel quality marks, keep tones as combining marks.
        let mut parts = std::iter::once(ch).nfd();
        let mut base = parts.next().unwrap_or('?');
        let mut tones = String::new();
        for mark in parts {
            match compose(base, mark) {
                Some(composed)
                    if !matches!(
                        mark,
                        '\u{300}' | '\u{301}' | '\u{303}' | '\u{309}' | '\u{323}'
                    ) =>
                {
                    base = composed
                }
                _ => tones.push(mark),
            }
        }
        let mut piece = String::new();
        piece.push(base);
        piece.push_str(&tones);
        if !push(&piece, &mut out) {
            out.push(b'?');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_1258_round_trips_through_nfc() {
        let text = "Nguyễn Thị Hồng Nhung, Đặng Quốc Việt, Khánh Vĩnh, Trường Sa";
        let bytes = encode_windows_1258(text);
        assert!(std::str::from_utf8(&bytes).is_err());
        assert_eq!(detect(&bytes), TextEncoding::Windows1258);
        let mut decoded = String::new();
        Windows1258Reader::new(io::BufReader::with_capacity(7, bytes.as_slice()))
            .read_to_string(&mut decoded)
            .unwrap();
        assert_eq!(crate::nfc(&decoded), text);
    }

    #[test]
    fn detects_utf8_with_a_cut_sequence() {
        let text = "Mã số BHXH";
        let bytes = text.as_bytes();
        assert_eq!(detect(&bytes[..2]), TextEncoding::Utf8);
        assert_eq!(detect(bytes), TextEncoding::Utf8);
    }
}
