package dev.unclip4j.bindings;

/** {@code uc_activation}: the activation of {@code uc_activate} and of op epilogues. */
public enum Activation {
    NONE,
    /** x·sigmoid(x). */
    SILU,
    /** GELU, tanh approximation. */
    GELU_TANH,
    /** GELU, exact (erf), torch's default. */
    GELU_ERF,
    /** x·sigmoid(1.702x), OpenAI CLIP's. */
    QUICK_GELU;

    int code() {
        return ordinal();
    }
}
