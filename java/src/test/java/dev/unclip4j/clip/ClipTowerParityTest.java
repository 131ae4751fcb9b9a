package dev.unclip4j.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.bindings.UnclipException;
import dev.unclip4j.io.Checkpoint;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Workspace;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The towers against openai/CLIP's float32 outputs (fixtures/clip/*: three tiny models, batch 3–4
 * with prompts of different lengths, 2–3 images), float32 on the CPU, both checkpoint layouts.
 *
 * <p>Bound 1e-4 (REFERENCE.md): the reference itself moves by ~5e-7 with BLAS, vector width and
 * thread count; our kernels sum in a different order (blocked GEMM, online softmax) so a few
 * float32 ulps per op, amplified by a few layers, stays well under it — measured ≤ 1e-6 (see
 * docs/clip.md); a wrong mask, pooling position or activation gives errors of order 1.
 */
class ClipTowerParityTest {
    private static Backend cpu;

    @BeforeAll
    static void open() {
        cpu = Backend.cpu();
    }

    @AfterAll
    static void close() {
        cpu.close();
    }

    @ParameterizedTest(name = "{0} ({1} layout)")
    @MethodSource("dev.unclip4j.clip.ClipTowerParity#models")
    void towersMatchOpenAiClipInFloat32(String model, String layout) {
        Map<String, Double> err = ClipTowerParity.errors(model, layout, cpu, DType.F32);
        assertEquals(model.equals("text77") ? 3 : 6, err.size());
        ClipTowerParity.assertBelow("cpu f32 " + model + "/" + layout, err, 1e-4);
    }

    /**
     * transformers' CLIPTextModel with an attention mask: causal plus key padding. Up to each end
     * token nothing changes (causal attention never sees the padding there), so the pooled output
     * and embedding equal the unmasked ones; the padding positions' states do change.
     */
    @Test
    void paddingMaskChangesOnlyThePaddingPositions() {
        Path dir = ClipTowerParity.fixture("text77");
        try (ClipModelFiles files = ClipModelFiles.open(dir.resolve("hf")); Checkpoint io = Checkpoint.open(dir.resolve("io.safetensors"));
             ClipTextEncoder text = new ClipTextEncoder(cpu, files.text(), DType.F32); Workspace ws = cpu.newWorkspace(0)) {
            int[][] ids = ClipTowerParity.ids(io);
            int b = ids.length, l = ids[0].length, d = files.text().config().hiddenSize();
            int[][] mask = new int[b][l];
            ClipTextEncoder.Output plain = text.forward(ids, ws);
            for (int i = 0; i < b; i++) Arrays.fill(mask[i], 0, plain.endIndex()[i] + 1, 1);
            float[] h0 = plain.lastHiddenState().toFloatArray(), e0 = plain.textEmbeds().toFloatArray();
            ClipTextEncoder.Output masked = text.forward(ids, mask, ws);
            float[] h1 = masked.lastHiddenState().toFloatArray();
            assertArrayEquals(e0, masked.textEmbeds().toFloatArray(), 1e-6f);
            boolean paddingChanged = false;
            for (int i = 0; i < b; i++) {
                for (int j = 0; j < l; j++) {
                    float[] r0 = Arrays.copyOfRange(h0, (i * l + j) * d, (i * l + j + 1) * d);
                    float[] r1 = Arrays.copyOfRange(h1, (i * l + j) * d, (i * l + j + 1) * d);
                    if (j <= plain.endIndex()[i]) assertArrayEquals(r0, r1, 1e-6f, "row " + i + " token " + j);
                    else paddingChanged |= !Arrays.equals(r0, r1);
                }
            }
            assertTrue(paddingChanged, "the padding mask changed no padding position");
        }
    }

    /** transformers' rule: the first eos_token_id when the config names one (not 2); argmax otherwise. */
    @Test
    void poolsAtTheFirstEndTokenOrArgmax() {
        Path dir = ClipTowerParity.fixture("small");
        try (ClipModelFiles files = ClipModelFiles.open(dir.resolve("hf"));
             ClipTextEncoder text = new ClipTextEncoder(cpu, files.text(), DType.F32)) {
            int eos = files.text().config().eosTokenId();
            assertArrayEquals(new int[] {2, 1, 3}, text.endIndex(new int[][] {{5, 6, eos, eos}, {5, eos, 7, 0}, {5, 6, 7, 9}}));
            assertNotEquals(2, eos);
        }
    }

    @Test
    void badInputIsAClearError() {
        Path dir = ClipTowerParity.fixture("small");
        try (ClipModelFiles files = ClipModelFiles.open(dir.resolve("hf")); Workspace ws = cpu.newWorkspace(0);
             ClipTextEncoder text = new ClipTextEncoder(cpu, files.text(), DType.F32);
             ClipVisionEncoder vision = new ClipVisionEncoder(cpu, files.vision(), DType.F32)) {
            int ctx = files.text().config().maxPositionEmbeddings();
            var e = assertThrows(UnclipException.class, () -> text.forward(new int[][] {new int[ctx + 1]}, ws));
            assertTrue(e.getMessage().contains("max_position_embeddings"), e.getMessage());
            e = assertThrows(UnclipException.class, () -> text.forward(new int[][] {{1, 2}, {1}}, ws));
            assertTrue(e.getMessage().contains("row 1"), e.getMessage());
            e = assertThrows(UnclipException.class, () -> text.forward(new int[][] {{1, 100000}}, ws));
            assertTrue(e.getMessage().contains("100000"), e.getMessage());
            try (var px = cpu.allocate(DType.F32, 1, 23, 24, 3)) {
                e = assertThrows(UnclipException.class, () -> vision.forward(px, ws));
                assertTrue(e.getMessage().contains("expected [B, 24, 24, 3]"), e.getMessage());
            }
        }
    }
}
