package dev.unclip4j.image;

/**
 * openai/CLIP's own preprocessing ({@code clip/clip.py} {@code _transform(n_px)}), for OpenAI
 * checkpoints: {@code Resize(n_px, BICUBIC)}, {@code CenterCrop(n_px)},
 * {@code convert("RGB")}, {@code ToTensor()}, {@code Normalize(CLIP mean, std)} — torchvision on
 * a PIL image. It differs from Hugging Face's CLIPImageProcessor in three places, each kept here:
 *
 * <ul>
 *   <li>the image is resized in its own mode and converted to RGB after: Pillow resizes RGBA and
 *       LA premultiplied by alpha (RGBa/La, MULDIV255 in and CLIP8(255·c/a) out), and palette (P)
 *       images by nearest neighbour;
 *   <li>torchvision's crop offsets round half to even: {@code int(round((h − n) / 2.0))};
 *   <li>ToTensor divides in float32: {@code (float) sample / 255f}.
 * </ul>
 */
public final class OpenAiClipTransform {
    private final int size;

    /** {@code n_px}: the model's input resolution (224 for ViT-B/32, ViT-L/14). */
    public OpenAiClipTransform(int size) {
        if (size <= 0) throw new IllegalArgumentException("bad size " + size);
        this.size = size;
    }

    public int size() {
        return size;
    }

    /** The pixel values, NHWC [1, n_px, n_px, 3]. */
    public float[] pixels(DecodedImage img) {
        // Resize: torchvision's _compute_resized_output_size, the same rule as transformers'.
        int[] hw = ClipImageProcessor.resizedSize(img.height(), img.width(), size);
        DecodedImage r = resize(img, hw[1], hw[0]);
        RgbImage rgb = centerCrop(r).toRgb();
        float[] out = new float[size * size * 3];
        byte[] px = rgb.rgb();
        for (int i = 0; i < out.length; i++) {
            int c = i % 3;
            float x = (float) (px[i] & 0xff) / 255f;
            out[i] = (x - ClipImageProcessor.CLIP_MEAN[c]) / ClipImageProcessor.CLIP_STD[c];
        }
        return out;
    }

    /** Pillow's {@code Image.resize(size, BICUBIC)} in the image's own mode. */
    static DecodedImage resize(DecodedImage img, int width, int height) {
        int b = img.mode().bands;
        byte[] s = img.samples();
        byte[] out = switch (img.mode()) {
            case P -> PillowResample.nearest(s, img.width(), img.height(), 1, width, height);
            case L, RGB -> PillowResample.resize(s, img.width(), img.height(), b, width, height, PillowResample.Filter.BICUBIC);
            case LA, RGBA -> unpremultiply(PillowResample.resize(premultiply(s, b), img.width(), img.height(), b, width, height,
                    PillowResample.Filter.BICUBIC), b);
        };
        return new DecodedImage(width, height, img.mode(), out, img.palette());
    }

    /** RGBA → RGBa / LA → La: each colour sample MULDIV255(c, a). */
    static byte[] premultiply(byte[] s, int bands) {
        byte[] out = s.clone();
        for (int p = 0; p < s.length; p += bands) {
            int a = s[p + bands - 1] & 0xff;
            for (int c = 0; c < bands - 1; c++) {
                int tmp = (s[p + c] & 0xff) * a + 128;
                out[p + c] = (byte) (((tmp >> 8) + tmp) >> 8);
            }
        }
        return out;
    }

    /** RGBa → RGBA / La → LA: CLIP8(255·c / a) where 0 < a < 255, else unchanged. */
    static byte[] unpremultiply(byte[] s, int bands) {
        byte[] out = s.clone();
        for (int p = 0; p < s.length; p += bands) {
            int a = s[p + bands - 1] & 0xff;
            if (a == 255 || a == 0) continue;
            for (int c = 0; c < bands - 1; c++) out[p + c] = (byte) Math.min(255, 255 * (s[p + c] & 0xff) / a);
        }
        return out;
    }

    /** torchvision's center_crop: zero padding (left/top = (n − w) // 2) when smaller, offsets rounded half to even. */
    DecodedImage centerCrop(DecodedImage img) {
        int b = img.mode().bands, w = img.width(), h = img.height();
        int padLeft = size > w ? (size - w) / 2 : 0, padTop = size > h ? (size - h) / 2 : 0;
        int pw = Math.max(w, size) == w ? w : w + padLeft + (size - w + 1) / 2;
        int ph = Math.max(h, size) == h ? h : h + padTop + (size - h + 1) / 2;
        int top = (int) Math.rint((ph - size) / 2.0), left = (int) Math.rint((pw - size) / 2.0);
        byte[] out = new byte[size * size * b];
        for (int y = 0; y < size; y++) {
            int sy = y + top - padTop;
            if (sy < 0 || sy >= h) continue;
            for (int x = 0; x < size; x++) {
                int sx = x + left - padLeft;
                if (sx < 0 || sx >= w) continue;
                System.arraycopy(img.samples(), (sy * w + sx) * b, out, (y * size + x) * b, b);
            }
        }
        return new DecodedImage(size, size, img.mode(), out, img.palette());
    }
}
