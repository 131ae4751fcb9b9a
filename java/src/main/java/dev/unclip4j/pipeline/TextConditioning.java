package dev.unclip4j.pipeline;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.tensor.Tensor;
import dev.unclip4j.tensor.Workspace;
import java.util.Arrays;

/**
 * What CLIP's text tower gives the prior and the decoder, for {@code rows} prompts: the projected
 * text embeddings, the last hidden states and the tokens' attention mask — diffusers'
 * {@code text_model_output} + {@code text_attention_mask}, which can also be passed in instead of
 * prompts. Host float32, row-major.
 *
 * @param embeds [rows, D] text_embeds
 * @param hidden [rows, length, width] last_hidden_state
 * @param mask [rows][length] 1 = token, 0 = padding
 */
public record TextConditioning(float[] embeds, float[] hidden, int[][] mask, int rows, int length, int width) {
    public TextConditioning {
        if (rows < 1 || mask.length != rows || embeds.length % rows != 0 || hidden.length != (long) rows * length * width) {
            throw new IllegalArgumentException("text conditioning: " + rows + " rows need embeds [rows, D], hidden [rows, "
                    + length + ", " + width + "] and a mask [rows][" + length + "]; got " + embeds.length + " embedding values, "
                    + hidden.length + " hidden values, " + mask.length + " mask rows");
        }
        for (int[] r : mask) {
            if (r.length != length) throw new IllegalArgumentException("text conditioning: a mask row is not " + length + " long");
        }
    }

    public int embedDim() {
        return embeds.length / rows;
    }

    /** Each row n times in a row (torch's repeat_interleave(n, dim=0): prompt-major images). */
    public TextConditioning repeatInterleave(int n) {
        int d = embedDim(), h = length * width;
        float[] e = new float[rows * n * d], hs = new float[rows * n * h];
        int[][] m = new int[rows * n][];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < n; j++) {
                int o = r * n + j;
                System.arraycopy(embeds, r * d, e, o * d, d);
                System.arraycopy(hidden, r * h, hs, o * h, h);
                m[o] = mask[r].clone();
            }
        }
        return new TextConditioning(e, hs, m, rows * n, length, width);
    }

    /** The rows of a, then those of b (torch.cat([uncond, cond])). */
    public static TextConditioning concat(TextConditioning a, TextConditioning b) {
        if (a.length != b.length || a.width != b.width || a.embedDim() != b.embedDim()) {
            throw new IllegalArgumentException("cannot concatenate text conditionings of different shapes");
        }
        float[] e = Arrays.copyOf(a.embeds, a.embeds.length + b.embeds.length);
        System.arraycopy(b.embeds, 0, e, a.embeds.length, b.embeds.length);
        float[] h = Arrays.copyOf(a.hidden, a.hidden.length + b.hidden.length);
        System.arraycopy(b.hidden, 0, h, a.hidden.length, b.hidden.length);
        int[][] m = new int[a.rows + b.rows][];
        System.arraycopy(a.mask, 0, m, 0, a.rows);
        System.arraycopy(b.mask, 0, m, a.rows, b.rows);
        return new TextConditioning(e, h, m, a.rows + b.rows, a.length, a.width);
    }

    Tensor embedsTensor(Workspace ws, DType dtype) {
        return ws.allocate(dtype, rows, embedDim()).copyFrom(embeds);
    }

    Tensor hiddenTensor(Workspace ws, DType dtype) {
        return ws.allocate(dtype, rows, length, width).copyFrom(hidden);
    }
}
