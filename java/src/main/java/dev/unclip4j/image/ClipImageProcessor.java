package dev.unclip4j.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * CLIP image preprocessing as Hugging Face's {@code CLIPImageProcessor} does it with Pillow,
 * driven by a model folder's {@code preprocessor_config.json}:
 *
 * <ol>
 *   <li>convert to RGB ({@link RgbImage});
 *   <li>resize the shortest side to {@code size.shortest_edge}, the other side to
 *       {@code int(shortest_edge · long / short)} (transformers' get_resize_output_image_size,
 *       default_to_square=False), with Pillow's 8-bit resampling ({@link PillowResample});
 *   <li>centre-crop to {@code crop_size}: top = (h − crop_h) // 2, left = (w − crop_w) // 2,
 *       zero-padded where the image is smaller (transformers' center_crop);
 *   <li>rescale: {@code (float) (sample · rescale_factor)} (computed in double, stored as float);
 *   <li>normalise: {@code (x − (float) mean) / (float) std} in float — numpy's float32 arithmetic,
 *       so the floats come out identical, not just close.
 * </ol>
 *
 * The result is NHWC ([1, crop_h, crop_w, 3]), the layout of the engine's activations (DESIGN.md).
 */
public final class ClipImageProcessor {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final System.Logger LOG = System.getLogger("dev.unclip4j.image");
    private static final Set<String> KNOWN = Set.of("do_convert_rgb", "do_resize", "size", "resample", "do_center_crop",
            "crop_size", "do_rescale", "rescale_factor", "do_normalize", "image_mean", "image_std",
            "image_processor_type", "feature_extractor_type", "processor_class");

    /** CLIP's normalisation constants (openai/CLIP's transform and every HF CLIP config). */
    public static final float[] CLIP_MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    public static final float[] CLIP_STD = {0.26862954f, 0.26130258f, 0.27577711f};

    public record Config(boolean doResize, int shortestEdge, PillowResample.Filter resample, boolean doCenterCrop,
                         int cropHeight, int cropWidth, boolean doRescale, double rescaleFactor, boolean doNormalize,
                         double[] mean, double[] std, List<String> ignoredKeys) {
        /** CLIP ViT-L/14's preprocessing at {@code size} (224 for the real model). */
        public static Config clip(int size) {
            return new Config(true, size, PillowResample.Filter.BICUBIC, true, size, size, true, 1 / 255.0, true,
                    new double[] {0.48145466, 0.4578275, 0.40821073}, new double[] {0.26862954, 0.26130258, 0.27577711},
                    List.of());
        }
    }

    private final Config config;

    public ClipImageProcessor(Config config) {
        this.config = config;
    }

    public Config config() {
        return config;
    }

    /** Reads {@code preprocessor_config.json} (a file, or the folder holding it). */
    public static ClipImageProcessor read(Path path) {
        Path file = Files.isDirectory(path) ? path.resolve("preprocessor_config.json") : path;
        JsonNode n;
        try {
            n = JSON.readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw new ImageFormatException(file + ": no such file");
        } catch (IOException e) {
            throw new ImageFormatException(file + ": malformed JSON: " + e.getMessage());
        }
        if (n == null || !n.isObject()) throw new ImageFormatException(file + ": not a JSON object");
        String w = file.toString();
        boolean doResize = bool(n, w, "do_resize", true);
        int shortest = 224;
        JsonNode size = n.get("size");
        if (size != null && size.isInt()) {
            shortest = size.intValue();  // old CLIPFeatureExtractor: "size": 224
        } else if (size != null && size.isObject()) {
            if (!size.has("shortest_edge")) {
                throw new ImageFormatException(w + ": 'size' " + size + " is not supported (CLIP resizes by shortest_edge)");
            }
            shortest = positive(size.get("shortest_edge"), w, "size.shortest_edge");
        } else if (size != null) {
            throw new ImageFormatException(w + ": 'size' must be an integer or {\"shortest_edge\": n}, not " + size);
        }
        int cropH = 224, cropW = 224;
        JsonNode crop = n.get("crop_size");
        if (crop != null && crop.isInt()) {
            cropH = cropW = crop.intValue();
        } else if (crop != null && crop.isObject()) {
            cropH = positive(crop.get("height"), w, "crop_size.height");
            cropW = positive(crop.get("width"), w, "crop_size.width");
        } else if (crop != null) {
            throw new ImageFormatException(w + ": 'crop_size' must be an integer or {\"height\", \"width\"}, not " + crop);
        }
        JsonNode resample = n.get("resample");
        PillowResample.Filter filter = PillowResample.Filter.BICUBIC;
        if (resample != null) {
            if (!resample.isInt()) throw new ImageFormatException(w + ": 'resample' must be an integer, not " + resample);
            try {
                filter = PillowResample.Filter.ofPilCode(resample.intValue());
            } catch (ImageFormatException e) {
                throw new ImageFormatException(w + ": 'resample': " + e.getMessage().replaceFirst("^image: ", ""));
            }
        }
        if (!bool(n, w, "do_convert_rgb", true)) {
            LOG.log(System.Logger.Level.DEBUG, w + ": do_convert_rgb false: images are converted to RGB anyway");
        }
        List<String> ignored = new ArrayList<>();
        n.properties().forEach(e -> {
            if (!KNOWN.contains(e.getKey())) ignored.add(e.getKey());
        });
        if (!ignored.isEmpty()) LOG.log(System.Logger.Level.DEBUG, w + ": ignoring keys " + ignored);
        Config c = new Config(doResize, shortest, filter, bool(n, w, "do_center_crop", true), cropH, cropW,
                bool(n, w, "do_rescale", true), number(n, w, "rescale_factor", 1 / 255.0), bool(n, w, "do_normalize", true),
                triple(n, w, "image_mean", new double[] {0.48145466, 0.4578275, 0.40821073}),
                triple(n, w, "image_std", new double[] {0.26862954, 0.26130258, 0.27577711}), ignored);
        for (double s : c.std()) if (s == 0) throw new ImageFormatException(w + ": 'image_std' has a zero");
        return new ClipImageProcessor(c);
    }

    private static boolean bool(JsonNode n, String w, String key, boolean fallback) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return fallback;
        if (!v.isBoolean()) throw new ImageFormatException(w + ": '" + key + "' must be true or false, not " + v);
        return v.booleanValue();
    }

    private static double number(JsonNode n, String w, String key, double fallback) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return fallback;
        if (!v.isNumber()) throw new ImageFormatException(w + ": '" + key + "' must be a number, not " + v);
        return v.doubleValue();
    }

    private static int positive(JsonNode v, String w, String key) {
        if (v == null || !v.isInt() || v.intValue() <= 0) {
            throw new ImageFormatException(w + ": '" + key + "' must be a positive integer, not " + v);
        }
        return v.intValue();
    }

    private static double[] triple(JsonNode n, String w, String key, double[] fallback) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return fallback;
        if (!v.isArray() || v.size() != 3) throw new ImageFormatException(w + ": '" + key + "' must be 3 numbers, not " + v);
        double[] out = new double[3];
        for (int i = 0; i < 3; i++) {
            if (!v.get(i).isNumber()) throw new ImageFormatException(w + ": '" + key + "' must be 3 numbers, not " + v);
            out[i] = v.get(i).doubleValue();
        }
        return out;
    }

    /** transformers' get_resize_output_image_size(default_to_square=False): {height, width}. */
    public static int[] resizedSize(int height, int width, int shortestEdge) {
        boolean portrait = width <= height;
        int shortSide = portrait ? width : height, longSide = portrait ? height : width;
        int newLong = (int) ((long) shortestEdge * longSide / (double) shortSide);
        return portrait ? new int[] {newLong, shortestEdge} : new int[] {shortestEdge, newLong};
    }

    /** Step 2: the resized image (Pillow's bytes). */
    public RgbImage resize(RgbImage img) {
        if (!config.doResize()) return img;
        int[] hw = resizedSize(img.height(), img.width(), config.shortestEdge());
        return PillowResample.resize(img, hw[1], hw[0], config.resample());
    }

    /** Step 3: transformers' center_crop, zero padding where the image is smaller than the crop. */
    public static RgbImage centerCrop(RgbImage img, int cropH, int cropW) {
        int h = img.height(), w = img.width();
        int top = Math.floorDiv(h - cropH, 2), left = Math.floorDiv(w - cropW, 2);
        // Padding case: the image sits at ceil((new − old) / 2) in a zero canvas of max sizes.
        int newH = Math.max(cropH, h), newW = Math.max(cropW, w);
        int padTop = top >= 0 && top + cropH <= h ? 0 : (newH - h + 1) / 2;
        int padLeft = left >= 0 && left + cropW <= w ? 0 : (newW - w + 1) / 2;
        boolean inside = top >= 0 && top + cropH <= h && left >= 0 && left + cropW <= w;
        if (!inside) {
            top += padTop;
            left += padLeft;
        }
        byte[] out = new byte[cropH * cropW * 3];
        for (int y = 0; y < cropH; y++) {
            for (int x = 0; x < cropW; x++) {
                int sy = top + y - (inside ? 0 : padTop), sx = left + x - (inside ? 0 : padLeft);
                if (sy < 0 || sy >= h || sx < 0 || sx >= w) continue;
                System.arraycopy(img.rgb(), (sy * w + sx) * 3, out, (y * cropW + x) * 3, 3);
            }
        }
        return new RgbImage(cropW, cropH, out);
    }

    /** Steps 1–5: the pixel values of one image, NHWC [1, H, W, 3]. */
    public float[] pixels(RgbImage img) {
        RgbImage r = resize(img);
        if (config.doCenterCrop()) r = centerCrop(r, config.cropHeight(), config.cropWidth());
        float[] out = new float[r.rgb().length];
        float[] mean = new float[3], std = new float[3];
        for (int c = 0; c < 3; c++) {
            mean[c] = (float) config.mean()[c];
            std[c] = (float) config.std()[c];
        }
        byte[] src = r.rgb();
        for (int i = 0; i < out.length; i++) {
            float x = config.doRescale() ? (float) ((src[i] & 0xff) * config.rescaleFactor()) : (float) (src[i] & 0xff);
            out[i] = config.doNormalize() ? (x - mean[i % 3]) / std[i % 3] : x;
        }
        return out;
    }

    /** The shape {@link #pixels} returns for {@code img}: [1, H, W, 3]. */
    public long[] pixelShape(RgbImage img) {
        if (config.doCenterCrop()) return new long[] {1, config.cropHeight(), config.cropWidth(), 3};
        RgbImage r = resize(img);
        return new long[] {1, r.height(), r.width(), 3};
    }

    /** Reads and preprocesses an image file. */
    public float[] pixels(Path file) {
        return pixels(RgbImage.read(file));
    }
}
