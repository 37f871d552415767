//! Decoding an image's pixels under limits: the memory a decode may take is bounded before any
//! of it is allocated, and a file whose pixels do not all decode is refused.
//!
//! PNG and WebP go through the `image` crate's decoders with [`Limits`]. JPEG is decoded by
//! `zune-jpeg` (the decoder the `image` crate wraps) directly, in its strict mode: the wrapper
//! runs it leniently, which paints a truncated or corrupt scan grey and reports success, and an
//! upload whose pixels are not all there must be refused, not stored half grey.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

use super::{Format, MAX_SIDE};

/// Most bytes a decoded image may take: enough for 40 megapixels of 8-bit RGBA (160 MB), not
/// for 16-bit colour at that size.
pub const MAX_ALLOC: u64 = 192 * 1024 * 1024;

/// Decoded pixels, as stored: the orientation is still to be applied.
pub struct Decoded {
    /// The pixels.
    pub image: DynamicImage,
    /// What the file's EXIF orientation asks for.
    pub orientation: Orientation,
}

/// Why pixels could not be had.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Truncated, corrupt, or a variant of the format that is not supported.
    #[error("the pixels do not decode: {0}")]
    Corrupt(String),
    /// Decoding would take more memory than [`MAX_ALLOC`] (or a side over [`MAX_SIDE`]).
    #[error("decoding needs more memory than allowed")]
    TooLarge,
}

impl From<ImageError> for DecodeError {
    fn from(error: ImageError) -> DecodeError {
        match error {
            ImageError::Limits(_) => DecodeError::TooLarge,
            other => DecodeError::Corrupt(other.to_string()),
        }
    }
}

/// The limits every decode runs under.
fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    limits
}

/// Decodes `bytes`, whose header said `format`.
pub fn decode(bytes: &[u8], format: Format) -> Result<Decoded, DecodeError> {
    match format {
        Format::Jpeg => decode_jpeg(bytes),
        Format::Png => decode_with_image(bytes, ImageFormat::Png),
        Format::Webp => decode_with_image(bytes, ImageFormat::WebP),
    }
}

fn decode_with_image(bytes: &[u8], format: ImageFormat) -> Result<Decoded, DecodeError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits());
    let mut decoder = reader.into_decoder()?;
    // The output buffer counts against the limit before it is allocated, as
    // `ImageReader::decode` does it.
    limits().reserve(decoder.total_bytes())?;
    let orientation = decoder.orientation()?;
    let image = DynamicImage::from_decoder(decoder)?;
    Ok(Decoded { image, orientation })
}

fn decode_jpeg(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    let corrupt = |e: zune_jpeg::errors::DecodeErrors| DecodeError::Corrupt(e.to_string());
    let side = usize::try_from(MAX_SIDE).unwrap_or(usize::MAX);
    let options = DecoderOptions::default()
        .set_strict_mode(true)
        .set_max_width(side)
        .set_max_height(side);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().map_err(corrupt)?;
    // Grey stays grey; everything else (YCbCr, CMYK, YCCK) becomes RGB, as `image` does it.
    let input = decoder
        .input_colorspace()
        .ok_or_else(|| DecodeError::Corrupt("no colour space".to_owned()))?;
    let output = match input {
        ColorSpace::Luma | ColorSpace::LumaA | ColorSpace::RGB | ColorSpace::RGBA => input,
        _ => ColorSpace::RGB,
    };
    decoder.set_options(decoder.options().jpeg_set_out_colorspace(output));
    let size = decoder
        .output_buffer_size()
        .ok_or_else(|| DecodeError::Corrupt("no dimensions".to_owned()))?;
    if u64::try_from(size).unwrap_or(u64::MAX) > MAX_ALLOC {
        return Err(DecodeError::TooLarge);
    }
    let (width, height) = decoder
        .dimensions()
        .and_then(|(w, h)| Some((u32::try_from(w).ok()?, u32::try_from(h).ok()?)))
        .ok_or_else(|| DecodeError::Corrupt("no dimensions".to_owned()))?;
    let orientation = decoder
        .exif()
        .and_then(|exif| Orientation::from_exif_chunk(exif))
        .unwrap_or(Orientation::NoTransforms);
    let pixels = decoder.decode().map_err(corrupt)?;
    let wrong_size = || DecodeError::Corrupt("the pixels do not fill the image".to_owned());
    let image = match output {
        ColorSpace::Luma => image::GrayImage::from_raw(width, height, pixels)
            .map(DynamicImage::ImageLuma8)
            .ok_or_else(wrong_size)?,
        ColorSpace::LumaA => image::GrayAlphaImage::from_raw(width, height, pixels)
            .map(DynamicImage::ImageLumaA8)
            .ok_or_else(wrong_size)?,
        ColorSpace::RGBA => image::RgbaImage::from_raw(width, height, pixels)
            .map(DynamicImage::ImageRgba8)
            .ok_or_else(wrong_size)?,
        _ => image::RgbImage::from_raw(width, height, pixels)
            .map(DynamicImage::ImageRgb8)
            .ok_or_else(wrong_size)?,
    };
    Ok(Decoded { image, orientation })
}
