//! The sizes of a product image — small, medium and large, at most 200, 480 and 1080 pixels on
//! the longest side — made once from the uploaded file and stored beside it.
//!
//! A size is never larger than the image (a 150-pixel image's sizes are 150 pixels). The EXIF
//! orientation is applied, so a size shows upright without it, and the files carry no metadata
//! at all: the encoders write pixels only, no EXIF (camera, place, time) and no colour profile.
//! Sizes are JPEG, except for an image with transparency (any pixel not fully opaque), whose
//! sizes are PNG so that it keeps its shape on any background.
//!
//! The work is bounded: the decode is limited as [`super::decode`] says, and an image at least
//! twice the large size is first reduced by averaging blocks of pixels ([`super::shrink`]), by
//! the largest whole factor that keeps it at least the large size, then filtered (Catmull-Rom)
//! down to each size.

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, GenericImageView};

use super::Format;
use super::decode;
pub use super::decode::{DecodeError, MAX_ALLOC};
use super::shrink::shrink;

/// A size of an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    Small,
    Medium,
    Large,
}

impl Size {
    /// Every size, smallest first (the order of [`Sizes::files`]).
    pub const ALL: [Size; 3] = [Size::Small, Size::Medium, Size::Large];

    /// The most pixels its longest side has.
    pub fn longest_side(self) -> u32 {
        match self {
            Size::Small => 200,
            Size::Medium => 480,
            Size::Large => 1080,
        }
    }

    /// Its name in keys and in the API.
    pub fn name(self) -> &'static str {
        match self {
            Size::Small => "small",
            Size::Medium => "medium",
            Size::Large => "large",
        }
    }
}

/// The format the sizes of an image are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Opaque images.
    Jpeg,
    /// Images with transparency.
    Png,
}

impl Encoding {
    /// The extension of its files.
    pub fn extension(self) -> &'static str {
        match self {
            Encoding::Jpeg => "jpg",
            Encoding::Png => "png",
        }
    }
}

/// JPEG quality of the sizes: visually clean at these dimensions, a third of quality 95's bytes.
const JPEG_QUALITY: u8 = 85;

/// The encoded sizes of one image.
#[derive(Debug)]
pub struct Sizes {
    /// Their format.
    pub encoding: Encoding,
    /// Small, medium and large, as [`Size::ALL`] orders them.
    pub files: [Vec<u8>; 3],
}

/// Why the sizes could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SizeError {
    /// The file's pixels: the client's to fix.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Encoding failed (it never should for these dimensions).
    #[error("encoding a size: {0}")]
    Encode(String),
}

/// The dimensions `width × height` scales to so that its longest side is at most `longest`:
/// the same when it already fits (never upscaled), and at least one pixel a side.
pub fn fit(width: u32, height: u32, longest: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= longest {
        return (width, height);
    }
    let scale = |side: u32| {
        let scaled = (u64::from(side) * u64::from(longest) + u64::from(long) / 2) / u64::from(long);
        u32::try_from(scaled).unwrap_or(longest).clamp(1, longest)
    };
    (scale(width), scale(height))
}

/// The dimensions a stored `width × height` shows at once `orientation` is applied.
pub fn oriented(width: u32, height: u32, orientation: Orientation) -> (u32, u32) {
    match orientation {
        Orientation::Rotate90
        | Orientation::Rotate270
        | Orientation::Rotate90FlipH
        | Orientation::Rotate270FlipH => (height, width),
        _ => (width, height),
    }
}

/// Decodes `bytes` (whose header said `format`) and makes its three sizes. Blocking and
/// CPU-bound: run it on the image gate.
pub fn make(bytes: &[u8], format: Format) -> Result<Sizes, SizeError> {
    let decode::Decoded { image, orientation } = decode::decode(bytes, format)?;
    let image = eight_bit(image);
    let encoding = if is_transparent(&image) {
        Encoding::Png
    } else {
        Encoding::Jpeg
    };
    let (width, height) = image.dimensions();
    let target = |size: Size| fit(width, height, size.longest_side());
    let start = reduced(image, Size::Large.longest_side());
    let large = scaled(&start, target(Size::Large));
    drop(start);
    let medium = scaled(&large, target(Size::Medium));
    let small = scaled(&medium, target(Size::Small));
    Ok(Sizes {
        encoding,
        files: [
            encode(small, orientation, encoding)?,
            encode(medium, orientation, encoding)?,
            encode(large, orientation, encoding)?,
        ],
    })
}

/// 8 bits a sample, as grey or RGB with or without alpha (no copy when it already is; grey
/// stays grey, a third of RGB's memory).
fn eight_bit(image: DynamicImage) -> DynamicImage {
    match image {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => image,
        other if other.color().has_alpha() => DynamicImage::ImageRgba8(other.into_rgba8()),
        other => DynamicImage::ImageRgb8(other.into_rgb8()),
    }
}

/// Whether any pixel is less than fully opaque.
fn is_transparent(image: &DynamicImage) -> bool {
    match image {
        DynamicImage::ImageRgba8(rgba) => rgba.pixels().any(|pixel| pixel[3] < u8::MAX),
        DynamicImage::ImageLumaA8(grey) => grey.pixels().any(|pixel| pixel[1] < u8::MAX),
        _ => false,
    }
}

/// `image` reduced by the largest whole factor that keeps its longest side at least
/// `longest` (itself when there is none).
fn reduced(image: DynamicImage, longest: u32) -> DynamicImage {
    let factor = image.width().max(image.height()) / longest.max(1);
    if factor < 2 {
        return image;
    }
    shrink(&image, factor).unwrap_or(image)
}

/// `image` filtered to exactly `width × height` (a copy when it is that already).
fn scaled(image: &DynamicImage, (width, height): (u32, u32)) -> DynamicImage {
    image.resize_exact(width, height, FilterType::CatmullRom)
}

/// The file of one size: turned upright, then written without metadata.
fn encode(
    mut image: DynamicImage,
    orientation: Orientation,
    encoding: Encoding,
) -> Result<Vec<u8>, SizeError> {
    image.apply_orientation(orientation);
    let mut file = Vec::new();
    let written = match encoding {
        Encoding::Jpeg => {
            JpegEncoder::new_with_quality(&mut file, JPEG_QUALITY).encode_image(&image.to_rgb8())
        }
        Encoding::Png => image.write_with_encoder(PngEncoder::new_with_quality(
            &mut file,
            CompressionType::Default,
            PngFilter::Adaptive,
        )),
    };
    written.map_err(|e| SizeError::Encode(e.to_string()))?;
    Ok(file)
}

#[cfg(test)]
mod tests;
