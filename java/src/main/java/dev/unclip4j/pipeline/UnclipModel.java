package dev.unclip4j.pipeline;

import dev.unclip4j.bindings.DType;
import dev.unclip4j.clip.ClipConfig;
import dev.unclip4j.clip.ClipModelFiles;
import dev.unclip4j.clip.ClipTextConfig;
import dev.unclip4j.clip.ClipTextEncoder;
import dev.unclip4j.clip.ClipTokenizer;
import dev.unclip4j.clip.ClipVisionEncoder;
import dev.unclip4j.image.ClipImageProcessor;
import dev.unclip4j.io.ConfigReader;
import dev.unclip4j.io.WeightFormatException;
import dev.unclip4j.model.PriorConfig;
import dev.unclip4j.model.PriorTransformer;
import dev.unclip4j.model.TextProjection;
import dev.unclip4j.model.TextProjectionConfig;
import dev.unclip4j.schedule.UnCLIPSchedulerConfig;
import dev.unclip4j.schedule.UnCLIPSchedulerConfig.VarianceType;
import dev.unclip4j.tensor.Backend;
import dev.unclip4j.unet.UNet;
import dev.unclip4j.unet.UNetConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A diffusers UnCLIP model folder (the layout of Karlo's weights) loaded on one backend: every
 * component of {@code UnCLIPPipeline} — tokenizer, text_encoder, prior, prior_scheduler,
 * text_proj, decoder, decoder_scheduler, super_res_first, super_res_last, super_res_scheduler —
 * and, where the folder has them, {@code UnCLIPImageVariationPipeline}'s image_encoder and
 * feature_extractor.
 *
 * <p>Every config is read and the components are checked against each other before any weight
 * is read: a folder whose parts disagree (the prior's embedding width ≠ CLIP's projection,
 * the decoder's text width ≠ text_proj's output, super-resolution input channels ≠ 2 × image
 * channels, an output width that does not fit its scheduler's variance type, a sample size a U-Net
 * cannot halve down to its lowest block) fails with a message naming both sides.
 */
public final class UnclipModel implements AutoCloseable {
    private final Path root;
    private final Backend backend;
    private final DType dtype;
    private final List<AutoCloseable> owned = new ArrayList<>();

    final ClipTokenizer tokenizer;
    final ClipTextEncoder textEncoder;
    final ClipVisionEncoder imageEncoder;          // null without image_encoder/
    final ClipImageProcessor featureExtractor;     // null without feature_extractor/
    final PriorTransformer prior;
    final UnCLIPSchedulerConfig priorScheduler;
    final TextProjection textProj;
    final UNet decoder;
    final UnCLIPSchedulerConfig decoderScheduler;
    final UNet superResFirst, superResLast;
    final UnCLIPSchedulerConfig superResScheduler;

    private UnclipModel(Path root, Backend backend, DType dtype) {
        this.root = root;
        this.backend = backend;
        this.dtype = dtype;
        checkIndex(root);
        // Configs first: a folder that cannot run fails before a weight moves.
        priorScheduler = UnCLIPSchedulerConfig.read(component(root, "prior_scheduler"));
        decoderScheduler = UnCLIPSchedulerConfig.read(component(root, "decoder_scheduler"));
        superResScheduler = UnCLIPSchedulerConfig.read(component(root, "super_res_scheduler"));
        UNetConfig decoderConfig = UNetConfig.read(component(root, "decoder"), "decoder");
        UNetConfig srFirst = UNetConfig.read(component(root, "super_res_first"), "super_res_first");
        UNetConfig srLast = UNetConfig.read(component(root, "super_res_last"), "super_res_last");
        PriorConfig priorConfig = PriorConfig.read(component(root, "prior").resolve("config.json"));
        TextProjectionConfig projConfig = TextProjectionConfig.read(component(root, "text_proj").resolve("config.json"));
        ClipTextConfig textConfig = ClipConfig.read(component(root, "text_encoder")).text();
        checkUNets(decoderConfig, srFirst, srLast);
        checkConditioning(textConfig, priorConfig, projConfig, decoderConfig);
        try {
            ClipModelFiles clip = own(ClipModelFiles.open(root));
            tokenizer = clip.tokenizer();
            textEncoder = own(new ClipTextEncoder(backend, clip.text(), dtype));
            imageEncoder = clip.vision() == null ? null : own(new ClipVisionEncoder(backend, clip.vision(), dtype));
            featureExtractor = clip.imageProcessor();
            prior = own(PriorTransformer.load(root.resolve("prior"), backend, dtype));
            textProj = own(TextProjection.load(root.resolve("text_proj"), backend, dtype));
            int sequence = tokenizer.contextLength() + 3 + (priorConfig.prdEmbedding() ? 1 : 0);
            if (priorConfig.positions() != sequence && priorConfig.positions() != 1) {  // one row broadcasts
                throw new WeightFormatException(root + ": the prior has " + priorConfig.positions() + " positions"
                        + " (num_embeddings + additional_embeddings), but the tokenizer's " + tokenizer.contextLength()
                        + " tokens make sequences of " + sequence);
            }
            decoder = own(UNet.load(root.resolve("decoder"), "decoder", backend, dtype));
            superResFirst = own(UNet.load(root.resolve("super_res_first"), "super_res_first", backend, dtype));
            superResLast = own(UNet.load(root.resolve("super_res_last"), "super_res_last", backend, dtype));
            clip.close();
            owned.remove(clip);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Loads the folder {@code root} onto {@code backend}, weights and activations in {@code dtype}. */
    public static UnclipModel load(Path root, Backend backend, DType dtype) {
        if (!Files.isDirectory(root)) throw new WeightFormatException(root + ": no such model folder");
        return new UnclipModel(root, backend, dtype);
    }

    private <T extends AutoCloseable> T own(T t) {
        owned.add(t);
        return t;
    }

    private static Path component(Path root, String name) {
        Path dir = root.resolve(name);
        if (!Files.isDirectory(dir)) throw new WeightFormatException(root + ": missing component folder " + name + "/");
        return dir;
    }

    private static void checkIndex(Path root) {
        Path index = root.resolve("model_index.json");
        if (!Files.isRegularFile(index)) {
            throw new WeightFormatException(root + ": not a diffusers UnCLIP folder (no model_index.json)");
        }
        ConfigReader r = new ConfigReader(index.toString(), ConfigReader.parse(index));
        r.choice("_class_name", null, "UnCLIPPipeline", "UnCLIPImageVariationPipeline");
    }

    private void checkUNets(UNetConfig decoder, UNetConfig first, UNetConfig last) {
        for (UNetConfig sr : List.of(first, last)) {
            if (sr.inChannels() != 2 * decoder.inChannels()) {
                throw new WeightFormatException(root + ": " + sr.component() + " takes " + sr.inChannels()
                        + " input channels, but the super-resolution input is the noisy image and the upscaled decoder"
                        + " image, 2 × " + decoder.inChannels() + " channels");
            }
            if (!Arrays.equals(sr.sampleSize(), first.sampleSize())) {
                throw new WeightFormatException(root + ": super_res_first and super_res_last have different sample_size");
            }
        }
        int c = decoder.inChannels();
        checkOutput(decoder, c, decoderScheduler);
        checkOutput(first, c, superResScheduler);
        checkOutput(last, c, superResScheduler);
        if (decoder.inChannels() != 3) {
            throw new WeightFormatException(root + ": the decoder makes " + decoder.inChannels() + "-channel images; the"
                    + " pipeline writes RGB (in_channels 3)");
        }
        checkSampleSize(decoder);
        checkSampleSize(first);
        if (first.sampleSize()[0] < decoder.sampleSize()[0] || first.sampleSize()[1] < decoder.sampleSize()[1]) {
            throw new WeightFormatException(root + ": the super-resolution sample_size " + first.sampleSize()[0]
                    + " is below the decoder's " + decoder.sampleSize()[0]);
        }
    }

    /** A U-Net's output must be what its scheduler's variance type reads: C image channels, or 2C for learned_range. */
    private void checkOutput(UNetConfig unet, int c, UnCLIPSchedulerConfig scheduler) {
        int want = scheduler.varianceType() == VarianceType.LEARNED_RANGE ? 2 * c : c;
        if (unet.outChannels() != want) {
            throw new WeightFormatException(root + ": " + unet.component() + " has " + unet.outChannels()
                    + " output channels; its scheduler's variance_type " + scheduler.varianceType().name().toLowerCase()
                    + " needs " + want);
        }
    }

    private void checkSampleSize(UNetConfig unet) {
        int[] s = unet.sampleSize();
        if (s == null) throw new WeightFormatException(root + ": " + unet.component() + " has no sample_size");
        int factor = 1 << unet.downsamplings();
        if (s[0] % factor != 0 || s[1] % factor != 0) {
            throw new WeightFormatException(root + ": " + unet.component() + " sample_size " + s[0] + "×" + s[1]
                    + " cannot be halved " + unet.downsamplings() + " times");
        }
    }

    /** The widths that pass from CLIP through the prior and text_proj into the decoder must agree. */
    private void checkConditioning(ClipTextConfig text, PriorConfig p, TextProjectionConfig t, UNetConfig decoder) {
        int proj = text.projectionDim(), hidden = text.hiddenSize();
        if (p.embeddingProjDim() != proj || p.clipEmbedDim() != proj) {
            throw new WeightFormatException(root + ": the prior reads a " + p.embeddingProjDim() + "-wide text embedding and"
                    + " predicts a " + p.clipEmbedDim() + "-wide image embedding, but CLIP's projection_dim is " + proj);
        }
        int priorText = p.encoderHidProj() ? p.embeddingDim() : p.innerDim();
        if (hidden != priorText) {
            throw new WeightFormatException(root + ": the prior reads " + priorText + "-wide text hidden states, CLIP's"
                    + " hidden_size is " + hidden);
        }
        if (t.clipEmbeddingsDim() != proj || t.clipEmbeddingsDim() != hidden) {
            throw new WeightFormatException(root + ": text_proj's clip_embeddings_dim " + t.clipEmbeddingsDim()
                    + " must equal CLIP's projection_dim " + proj + " and hidden_size " + hidden);
        }
        if (t.crossAttentionDim() != decoder.crossAttentionDims()[0]) {
            throw new WeightFormatException(root + ": text_proj gives " + t.crossAttentionDim() + "-wide text tokens, the decoder's"
                    + " cross_attention_dim is " + decoder.crossAttentionDims()[0]);
        }
        if (!decoder.classIdentity() || t.timeEmbedDim() != decoder.timeEmbedDim()) {
            throw new WeightFormatException(root + ": the decoder must add text_proj's " + t.timeEmbedDim()
                    + "-wide time embedding (class_embed_type \"identity\", time embedding " + decoder.timeEmbedDim() + ")");
        }
    }

    public Path root() {
        return root;
    }

    public Backend backend() {
        return backend;
    }

    public DType dtype() {
        return dtype;
    }

    /** Whether the folder has what image variations need (image_encoder/ and feature_extractor/). */
    public boolean hasImageEncoder() {
        return imageEncoder != null && featureExtractor != null;
    }

    @Override
    public void close() {
        for (int i = owned.size() - 1; i >= 0; i--) {
            try {
                owned.get(i).close();
            } catch (Exception e) {
                throw new IllegalStateException("closing " + owned.get(i), e);
            }
        }
        owned.clear();
    }
}
