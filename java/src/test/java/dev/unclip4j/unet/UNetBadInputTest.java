package dev.unclip4j.unet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unclip4j.bindings.DType;
import dev.unclip4j.bindings.UnclipException;
import dev.unclip4j.io.Checkpoint;
import dev.unclip4j.io.SafetensorsWriter;
import dev.unclip4j.io.WeightFormatException;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import dev.unclip4j.tensor.Workspace;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A U-Net folder that this code cannot run exactly as diffusers would is refused with a message
 * naming the component, the key or tensor, and the value — the config before any weight is read
 * — and a forward with inputs of the wrong shape is refused naming the input.
 */
class UNetBadInputTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Backend cpu;
    @TempDir
    Path dir;

    @BeforeAll
    static void open() {
        cpu = Backend.cpu();
    }

    @AfterAll
    static void close() {
        cpu.close();
    }

    /** The fixture's config with one key changed, in a folder with no weights at all. */
    private Path withConfig(String fixture, Consumer<ObjectNode> edit) throws IOException {
        ObjectNode cfg = (ObjectNode) JSON.readTree(UNetParity.fixture(fixture).resolve("config.json").toFile());
        edit.accept(cfg);
        Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(cfg));
        return dir;
    }

    private static void failsNaming(Executable load, String... parts) {
        Exception e = assertThrows(WeightFormatException.class, load);
        for (String p : parts) assertTrue(e.getMessage().contains(p), "'" + p + "' missing from: " + e.getMessage());
    }

    @ParameterizedTest(name = "{1} = {2}")
    @CsvSource(delimiter = '|', value = {
        "dec_default | down_block_types | [\"CrossAttnDownBlock2D\", \"SimpleCrossAttnDownBlock2D\", \"SimpleCrossAttnDownBlock2D\"]",
        "dec_default | mid_block_type | \"UNetMidBlock2DCrossAttn\"",
        "dec_default | only_cross_attention | true",
        "dec_default | only_cross_attention | [false, true, false]",
        "dec_default | dual_cross_attention | true",
        "dec_default | encoder_hid_dim | 32",
        "dec_default | time_embedding_type | \"fourier\"",
        "dec_default | num_attention_heads | 4",
        "dec_default | act_fn | \"mish\"",
        "dec_default | resnet_time_scale_shift | \"ada_group\"",
        "dec_default | class_embed_type | \"timestep\"",
        "dec_default | addition_embed_type | \"text\"",
        "dec_default | cross_attention_norm | \"batch_norm\"",
        "dec_default | conv_in_kernel | 2",
        "dec_default | time_cond_proj_dim | 8",
        "dec_default | attention_type | \"gated\"",
        "sr_default | up_block_types | [\"AttnSkipUpBlock2D\", \"UpBlock2D\"]",
        "sr_default | downsample_padding | 0",
        "sr_default | time_embedding_type | \"fourier\"",
        "sr_default | class_embed_type | \"identity\"",
        "sr_default | norm_num_groups | null",
        "sr_default | some_future_key | 1"})
    void unsupportedConfigIsNamedBeforeAnyWeightIsRead(String fixture, String key, String value) throws IOException {
        Path d = withConfig(fixture, c -> {
            try {
                c.set(key, JSON.readTree(value));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        // No weight file in the folder: the config error must come first.
        failsNaming(() -> UNet.load(d, "decoder", cpu, DType.F32), "decoder", key);
    }

    @Test
    void unsupportedValueIsQuoted() throws IOException {
        Path d = withConfig("dec_default", c -> c.put("act_fn", "mish"));
        failsNaming(() -> UNet.load(d, "decoder", cpu, DType.F32), "act_fn", "\"mish\"", "silu");
    }

    @Test
    void layerNormNeedsTheTextWidthToMatchTheBlock() throws IOException {
        // diffusers builds LayerNorm(block channels) for the text tokens: it fails itself otherwise.
        Path d = withConfig("dec_default", c -> c.put("cross_attention_dim", 24));
        failsNaming(() -> UNet.load(d, "decoder", cpu, DType.F32), "cross_attention_norm", "layer_norm");
    }

    /** The fixture's weights rewritten with {@code edit} applied (null value: drop the tensor). */
    private Path withWeights(String fixture, String name, float[] values, long... shape) throws IOException {
        Path src = UNetParity.fixture(fixture);
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        SafetensorsWriter w = new SafetensorsWriter();
        try (Checkpoint ck = Checkpoint.open(src.resolve("diffusion_pytorch_model.safetensors"))) {
            for (String n : ck.names()) {
                if (n.equals(name)) continue;
                w.f32(n, ck.floats(n), ck.entry(n).shape());
            }
        }
        if (values != null) w.f32(name, values, shape);
        w.write(dir.resolve("diffusion_pytorch_model.safetensors"));
        return dir;
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        Path d = withWeights("sr_default", "up_blocks.0.attentions.1.to_k.weight", null);
        failsNaming(() -> UNet.load(d, "super_res_first", cpu, DType.F32), "super_res_first", "missing tensor",
                "up_blocks.0.attentions.1.to_k.weight");
    }

    @Test
    void wrongShapeIsNamed() throws IOException {
        Path d = withWeights("sr_default", "mid_block.resnets.1.conv1.weight", new float[24 * 24 * 9 - 9 * 24], 23, 24, 3, 3);
        failsNaming(() -> UNet.load(d, "super_res_first", cpu, DType.F32), "mid_block.resnets.1.conv1.weight",
                "[23, 24, 3, 3]", "[24, 24, 3, 3]");
    }

    @Test
    void extraTensorIsNamed() throws IOException {
        Path d = withWeights("sr_default", "down_blocks.0.attentions.0.to_q.weight", new float[64], 8, 8);
        failsNaming(() -> UNet.load(d, "super_res_first", cpu, DType.F32), "unexpected", "down_blocks.0.attentions.0.to_q.weight");
    }

    @Test
    void forwardRefusesInputsOfTheWrongShape() {
        try (UNet unet = UNet.load(UNetParity.fixture("dec_scale_shift"), "decoder", cpu, DType.F32);
             Workspace ws = cpu.newWorkspace(1 << 16);
             Tensor sample = cpu.allocate(DType.F32, 2, 16, 16, 3).fillBytes(0);
             Tensor odd = cpu.allocate(DType.F32, 2, 14, 16, 3).fillBytes(0);
             Tensor fourChannels = cpu.allocate(DType.F32, 2, 16, 16, 4).fillBytes(0);
             Tensor text = cpu.allocate(DType.F32, 2, 5, 32).fillBytes(0);
             Tensor mask = cpu.allocate(DType.F32, 2, 6).fillBytes(0);
             Tensor labels = cpu.allocate(DType.F32, 2, 32).fillBytes(0)) {
            float[] t = {1, 2};
            assertRefused("[N, H, W, 3]", () -> unet.forward(fourChannels, t, text, null, labels, ws));
            assertRefused("multiple of 4", () -> unet.forward(odd, t, text, null, labels, ws));
            assertRefused("1 timesteps for a batch of 2", () -> unet.forward(sample, new float[] {1}, text, null, labels, ws));
            assertRefused("encoder_hidden_states", () -> unet.forward(sample, t, null, null, labels, ws));
            assertRefused("attention_mask", () -> unet.forward(sample, t, text, mask, labels, ws));
            assertRefused("class_labels", () -> unet.forward(sample, t, text, null, null, ws));
        }
    }

    private static void assertRefused(String part, Executable call) {
        UnclipException e = assertThrows(UnclipException.class, call);
        assertTrue(e.getMessage().contains(part), "'" + part + "' missing from: " + e.getMessage());
    }

    @Test
    void aSecondForwardAllocatesNothing() {
        try (UNet unet = UNet.load(UNetParity.fixture("sr_default"), "super_res_first", cpu, DType.F32);
             Workspace ws = cpu.newWorkspace(0);
             Tensor sample = cpu.allocate(DType.F32, 2, 12, 8, 6).fillBytes(0)) {
            unet.forward(sample, new float[] {1, 2}, null, null, null, ws);
            ws.reset();
            long capacity = ws.capacity();
            float[] first = unet.forward(sample, new float[] {1, 2}, null, null, null, ws).toFloatArray();
            ws.reset();
            assertEquals(capacity, ws.capacity(), "the workspace grew on the second pass");
            assertEquals(ws.peak(), capacity, "one block of the peak size serves every pass");
            assertTrue(first.length == 2 * 12 * 8 * 3);
        }
    }
}
