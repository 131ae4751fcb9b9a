package dev.unclip4j.clip;

/** The MLP activations CLIP checkpoints use: OpenAI's QuickGELU (x·σ(1.702x)) or exact (erf) GELU. */
public enum ClipActivation {
    QUICK_GELU("quick_gelu"),
    GELU("gelu");

    private final String configName;

    ClipActivation(String configName) {
        this.configName = configName;
    }

    /** The value of {@code hidden_act} in a Hugging Face config. */
    public String configName() {
        return configName;
    }

    /** The activation a config's {@code hidden_act} names, or null when unsupported. */
    static ClipActivation fromConfig(String name) {
        for (ClipActivation a : values()) if (a.configName.equals(name)) return a;
        return null;
    }
}
