package dev.unclip4j.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unclip4j.io.Checkpoint;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Against fixtures/preprocess (tools/reference/make_preprocess_fixture.py: Pillow's resize and
 * transformers' CLIPImageProcessor steps): the resized bytes must be Pillow's exactly, and the
 * normalised floats within 1e-6 (they are computed with the same float32 operations as numpy, so
 * in practice they are identical; the bound leaves room for nothing else).
 */
class ClipImageProcessorTest {
    @TempDir
    Path dir;

    private static Path fixtures() throws URISyntaxException {
        return Path.of(ClipImageProcessorTest.class.getResource("/fixtures/preprocess/fixture.json").toURI()).getParent();
    }

    @Test
    void matchesPillowAndTransformers() throws IOException, URISyntaxException {
        Path fx = fixtures();
        JsonNode meta = new ObjectMapper().readTree(fx.resolve("fixture.json").toFile());
        int checkedFloats = 0;
        List<String> failures = new ArrayList<>();
        try (Checkpoint expected = Checkpoint.open(fx.resolve("expected.safetensors"))) {
            for (JsonNode c : meta.get("cases")) {
                String image = c.get("image").textValue(), cfg = c.get("config").textValue();
                if (c.has("openai_n_px")) continue;  // openAiTransformMatchesTorchvision
                String name = image.substring(0, image.length() - 4);
                ClipImageProcessor p = ClipImageProcessor.read(fx.resolve("preprocessor_config_" + cfg + ".json"));
                RgbImage in = RgbImage.read(fx.resolve(image));
                assertEquals(c.get("width").intValue(), in.width());
                RgbImage want = RgbImage.read(fx.resolve(name + "." + cfg + ".resized.png"));
                RgbImage got = p.resize(in);
                assertEquals(want.width(), got.width(), name + " " + cfg + " width");
                assertEquals(want.height(), got.height(), name + " " + cfg + " height");
                int diff = 0, maxDiff = 0;
                for (int i = 0; i < want.rgb().length; i++) {
                    int d = Math.abs((want.rgb()[i] & 0xff) - (got.rgb()[i] & 0xff));
                    if (d != 0) diff++;
                    maxDiff = Math.max(maxDiff, d);
                }
                if (diff != 0) failures.add(name + " " + cfg + ": " + diff + " resized samples differ from Pillow's (max " + maxDiff + ")");
                String key = name + "/" + cfg + "/pixel_values_nhwc";
                if (expected.contains(key)) {
                    float[] ref = expected.floats(key);
                    float[] ours = p.pixels(in);
                    assertArrayEquals(expected.entry(key).shape(), p.pixelShape(in), key);
                    double worst = 0;
                    for (int i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ref[i] - ours[i]));
                    if (worst >= 1e-6) failures.add(key + ": max |difference| " + worst);
                    checkedFloats++;
                }
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
        assertTrue(meta.get("cases").size() >= 18 && checkedFloats >= 10, "cases " + meta.get("cases").size() + ", floats " + checkedFloats);
    }

    /**
     * openai/CLIP's torchvision transform: RGBA and LA resized premultiplied, P by nearest
     * neighbour, crop offsets rounded half to even, float32 division by 255. Any one-level
     * difference in a resized byte shows as ≥ 1/255/0.28 ≈ 0.014 here, so 1e-6 means exact bytes.
     */
    @Test
    void openAiTransformMatchesTorchvision() throws IOException, URISyntaxException {
        Path fx = fixtures();
        JsonNode meta = new ObjectMapper().readTree(fx.resolve("fixture.json").toFile());
        List<String> failures = new ArrayList<>();
        int checked = 0;
        java.util.Set<String> modes = new java.util.TreeSet<>();
        try (Checkpoint expected = Checkpoint.open(fx.resolve("expected.safetensors"))) {
            for (JsonNode c : meta.get("cases")) {
                if (!c.has("openai_n_px")) continue;
                String image = c.get("image").textValue();
                int n = c.get("openai_n_px").intValue();
                DecodedImage img = DecodedImage.read(fx.resolve(image));
                assertEquals(c.get("mode").textValue(), img.mode().name(), image);
                modes.add(img.mode().name());
                String key = image.substring(0, image.length() - 4) + "/openai" + n + "/pixel_values_nhwc";
                float[] ref = expected.floats(key), ours = new OpenAiClipTransform(n).pixels(img);
                assertArrayEquals(new long[] {1, n, n, 3}, expected.entry(key).shape());
                double worst = 0;
                for (int i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ref[i] - ours[i]));
                if (worst >= 1e-6) failures.add(key + ": max |difference| " + worst);
                checked++;
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
        assertEquals(20, checked);
        assertEquals(java.util.Set.of("L", "LA", "P", "RGB", "RGBA"), modes);
    }

    @Test
    void resizeOutputSizeFollowsTransformers() {
        assertArrayEquals(new int[] {224, 298}, ClipImageProcessor.resizedSize(480, 640, 224));
        assertArrayEquals(new int[] {298, 224}, ClipImageProcessor.resizedSize(640, 480, 224));
        assertArrayEquals(new int[] {224, 224}, ClipImageProcessor.resizedSize(33, 33, 224));
        assertArrayEquals(new int[] {64, 200}, ClipImageProcessor.resizedSize(64, 200, 64));
    }

    @Test
    void centerCropPadsSmallImagesWithZeros() {
        byte[] px = new byte[2 * 3 * 3];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i + 1);
        RgbImage small = new RgbImage(3, 2, px);  // 3 wide, 2 high
        RgbImage c = ClipImageProcessor.centerCrop(small, 4, 2);
        // top = (2 - 4) // 2 = -1 → rows -1..2; left = (3 - 2) // 2 = 0 → columns 0..1
        assertEquals(0, c.get(0, 0, 0));
        assertEquals(1, c.get(0, 1, 0));
        assertEquals(4, c.get(1, 1, 0));
        assertEquals(10, c.get(0, 2, 0));
        assertEquals(0, c.get(1, 3, 2));
    }

    @Test
    void notAnImageIsAClearError() throws IOException {
        Path txt = Files.writeString(dir.resolve("notes.png"), "this is not a PNG");
        var e = assertThrows(ImageFormatException.class, () -> RgbImage.read(txt));
        assertTrue(e.getMessage().contains("notes.png") && e.getMessage().contains("not an image"), e.getMessage());
        assertTrue(assertThrows(ImageFormatException.class, () -> RgbImage.read(dir.resolve("absent.png")))
                .getMessage().contains("no such"));
    }

    @Test
    void configErrorsNameTheKey() throws IOException {
        Path f = dir.resolve("preprocessor_config.json");
        Files.writeString(f, "{\"resample\": 0}");
        assertTrue(assertThrows(ImageFormatException.class, () -> ClipImageProcessor.read(f)).getMessage().contains("'resample'"));
        Files.writeString(f, "{\"size\": {\"height\": 224, \"width\": 224}}");
        assertTrue(assertThrows(ImageFormatException.class, () -> ClipImageProcessor.read(f)).getMessage().contains("'size'"));
        Files.writeString(f, "{\"image_mean\": [0.5, 0.5]}");
        assertTrue(assertThrows(ImageFormatException.class, () -> ClipImageProcessor.read(f)).getMessage().contains("'image_mean'"));
        Files.writeString(f, "{\"size\": 224, \"crop_size\": 224, \"feature_extractor_type\": \"CLIPFeatureExtractor\"}");
        ClipImageProcessor.Config c = ClipImageProcessor.read(dir).config();
        assertEquals(224, c.shortestEdge());
        assertEquals(224, c.cropWidth());
        assertEquals(PillowResample.Filter.BICUBIC, c.resample());
    }
}
