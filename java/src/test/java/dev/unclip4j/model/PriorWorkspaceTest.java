package dev.unclip4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.io.Checkpoint;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.tensor.Tensor;
import dev.unclip4j.tensor.Workspace;
import org.junit.jupiter.api.Test;

/**
 * After the first pass at a batch size, a forward of either model takes all its activation memory
 * from the workspace as sized by that pass (a denoising step allocates nothing), and repeats bit for bit.
 */
class PriorWorkspaceTest {
    @Test
    void priorReusesTheWorkspace() {
        try (Backend cpu = Backend.cpu();
             PriorTransformer prior = PriorTransformer.load(PriorFixtures.fixture("prior_layer_in"), cpu, DType.F32);
             Checkpoint io = Checkpoint.open(PriorFixtures.fixture("prior_layer_in").resolve("io.safetensors"));
             Workspace ws = cpu.newWorkspace(1024);
             Tensor x = PriorFixtures.upload(io, "int_t.hidden_states", cpu, DType.F32);
             Tensor p = PriorFixtures.upload(io, "int_t.proj_embedding", cpu, DType.F32);
             Tensor t = PriorFixtures.upload(io, "int_t.encoder_hidden_states", cpu, DType.F32)) {
            int[][] mask = PriorFixtures.ints(io, "int_t.attention_mask");
            float[] first = prior.forward(x, 999, p, t, mask, ws).predictedImageEmbedding().toFloatArray();
            ws.reset();
            long capacity = ws.capacity();
            for (int pass = 0; pass < 3; pass++) {
                assertArrayEquals(first, prior.forward(x, 999, p, t, mask, ws).predictedImageEmbedding().toFloatArray());
                ws.reset();
                assertEquals(capacity, ws.capacity(), "pass " + pass + " grew the workspace");
            }
        }
    }

    @Test
    void textProjectionReusesTheWorkspace() {
        try (Backend cpu = Backend.cpu();
             TextProjection proj = TextProjection.load(PriorFixtures.fixture("text_proj_k3"), cpu, DType.F32);
             Checkpoint io = Checkpoint.open(PriorFixtures.fixture("text_proj_k3").resolve("io.safetensors"));
             Workspace ws = cpu.newWorkspace(1024);
             Tensor image = PriorFixtures.upload(io, "cfg.image_embeddings", cpu, DType.F32);
             Tensor prompt = PriorFixtures.upload(io, "cfg.prompt_embeds", cpu, DType.F32);
             Tensor text = PriorFixtures.upload(io, "cfg.text_encoder_hidden_states", cpu, DType.F32)) {
            float[] first = proj.forward(image, prompt, text, true, ws).textEncoderHiddenStates().toFloatArray();
            ws.reset();
            long capacity = ws.capacity();
            assertArrayEquals(first, proj.forward(image, prompt, text, true, ws).textEncoderHiddenStates().toFloatArray());
            ws.reset();
            assertEquals(capacity, ws.capacity());
        }
    }
}
