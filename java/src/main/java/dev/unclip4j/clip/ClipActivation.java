package dev.unclip4j.clip;

import dev.unclip4j.io.ConfigReader;

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

    /** The activation {@code key} of a config names; {@code fallback} when absent. */
    static ClipActivation read(ConfigReader r, String key, ClipActivation fallback) {
        String s = r.string(key, null);
        if (s == null) return fallback;
        ClipActivation a = fromConfig(s);
        if (a == null) throw r.unsupported(key, "\"" + s + "\"", "quick_gelu, gelu");
        return a;
    }

    /** The activation a config's {@code hidden_act} names, or null when unsupported. */
    static ClipActivation fromConfig(String name) {
        for (ClipActivation a : values()) if (a.configName.equals(name)) return a;
        return null;
    }
}
