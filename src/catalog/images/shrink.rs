//! The first, cheap step of a large reduction: each block of `factor × factor` pixels becomes
//! their average, in one pass over the bytes with one row of sums. Averaging whole blocks is
//! exact for a reduction by a whole factor, and leaves the filter that follows a reduction of
//! less than two to make — so it never reads a 12-megapixel image in floating point, which
//! made resizing one take several times as long as decoding it.

use image::{DynamicImage, GrayAlphaImage, GrayImage, RgbImage, RgbaImage};

/// `image` (8-bit grey or RGB, with or without alpha) with each block of `factor × factor`
/// pixels averaged into one; the blocks of the last column and row may be narrower. `None` for
/// another pixel type.
pub fn shrink(image: &DynamicImage, factor: u32) -> Option<DynamicImage> {
    let (width, height) = (image.width(), image.height());
    if width == 0 || height == 0 {
        return None;
    }
    let factor = factor.max(1);
    let channels = usize::from(image.color().channel_count());
    let (out_width, out_height) = (width.div_ceil(factor), height.div_ceil(factor));
    let (width_px, factor_px) = (usize::try_from(width).ok()?, usize::try_from(factor).ok()?);
    let bytes = image.as_bytes();
    let row_bytes = width_px * channels;
    let mut sums = vec![0u32; usize::try_from(out_width).ok()? * channels];
    let mut out = Vec::with_capacity(sums.len() * usize::try_from(out_height).ok()?);
    for rows in bytes.chunks(row_bytes * factor_px) {
        sums.fill(0);
        for row in rows.chunks_exact(row_bytes) {
            for (block, pixels) in row.chunks(factor_px * channels).enumerate() {
                let sum = sums.get_mut(block * channels..(block + 1) * channels)?;
                for pixel in pixels.chunks_exact(channels) {
                    for (total, &value) in sum.iter_mut().zip(pixel) {
                        *total += u32::from(value);
                    }
                }
            }
        }
        let block_rows = u32::try_from(rows.len() / row_bytes).ok()?;
        for (block, sum) in sums.chunks_exact(channels).enumerate() {
            let first = u32::try_from(block).ok()? * factor;
            let count = factor.min(width - first) * block_rows;
            out.extend(
                sum.iter()
                    .map(|total| u8::try_from((total + count / 2) / count).unwrap_or(u8::MAX)),
            );
        }
    }
    match image {
        DynamicImage::ImageLuma8(_) => {
            GrayImage::from_raw(out_width, out_height, out).map(Into::into)
        }
        DynamicImage::ImageLumaA8(_) => {
            GrayAlphaImage::from_raw(out_width, out_height, out).map(Into::into)
        }
        DynamicImage::ImageRgb8(_) => {
            RgbImage::from_raw(out_width, out_height, out).map(Into::into)
        }
        DynamicImage::ImageRgba8(_) => {
            RgbaImage::from_raw(out_width, out_height, out).map(Into::into)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use image::{GenericImageView, Rgb};

    use super::*;

    #[test]
    fn blocks_become_their_average_and_the_edges_count_what_they_have() {
        // 5 × 3 RGB: columns 0–1 black and white in turn, row 2 all 90.
        let image = RgbImage::from_fn(5, 3, |x, y| match (x, y) {
            (_, 2) => Rgb([90, 90, 90]),
            (x, _) if x % 2 == 0 => Rgb([0, 0, 0]),
            _ => Rgb([255, 255, 255]),
        });
        let shrunk = shrink(&DynamicImage::ImageRgb8(image), 2).expect("8-bit RGB");
        assert_eq!(shrunk.dimensions(), (3, 2));
        let rgb = shrunk.to_rgb8();
        assert_eq!(
            rgb.get_pixel(0, 0).0,
            [128; 3],
            "(0 + 255 + 0 + 255) / 4, rounded"
        );
        assert_eq!(rgb.get_pixel(2, 0).0, [0; 3], "a block one pixel wide");
        assert_eq!(rgb.get_pixel(1, 1).0, [90; 3], "a block one pixel high");
    }

    #[test]
    fn a_factor_of_one_copies_and_other_pixel_types_are_left_alone() {
        let grey = DynamicImage::ImageLuma8(GrayImage::from_fn(3, 2, |x, y| {
            image::Luma([u8::try_from(x * 10 + y).unwrap_or(0)])
        }));
        assert_eq!(
            shrink(&grey, 1).map(|i| i.into_bytes()),
            Some(grey.as_bytes().to_vec())
        );
        assert!(shrink(&DynamicImage::new_rgb16(4, 4), 2).is_none());
    }
}
