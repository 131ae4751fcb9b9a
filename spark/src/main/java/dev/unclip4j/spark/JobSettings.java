package dev.unclip4j.spark;

import java.io.Serializable;

/**
 * What a job's tasks need to know, sent with them to the executors.
 *
 * @param model the model folder as the executors see it (a shared or shipped path)
 * @param modelName how the PNG recipes name the model
 * @param device "auto" (the task's GPU from Spark, else the CPU), "cpu", "cuda" or "cuda:N"
 * @param threads CPU threads of a model (0: OpenMP's choice)
 * @param batch images (generate) or rows (embed, score) per call into the model
 * @param priorSteps the default prior steps of a request row that gives none (likewise below)
 * @param imagesDir where generate writes the PNG files, or null for PNG bytes in the table
 * @param score whether generate adds the CLIP score of each image
 * @param normalize whether embed L2-normalises the embeddings
 * @param failPartition a test hook: the first attempt of this partition fails after its first
 *     batch (its files written), so that Spark's retry redoes it; -1 for none
 */
public record JobSettings(String model, String modelName, String device, int threads, int batch, int priorSteps,
                          int decoderSteps, int superResSteps, double priorGuidance, double decoderGuidance,
                          String imagesDir, boolean score, boolean normalize, int failPartition) implements Serializable {
    public JobSettings {
        if (batch < 1) throw new IllegalArgumentException("--batch must be at least 1, not " + batch);
        if (threads < 0) throw new IllegalArgumentException("--threads must be at least 0, not " + threads);
    }

    /** These settings with generate's own: the defaults of rows that give no steps or guidance, the images folder, --score. */
    JobSettings forGenerate(int priorSteps, int decoderSteps, int superResSteps, double priorGuidance, double decoderGuidance,
                            String imagesDir, boolean score) {
        return new JobSettings(model, modelName, device, threads, batch, priorSteps, decoderSteps, superResSteps, priorGuidance,
                decoderGuidance, imagesDir, score, normalize, failPartition);
    }

    /** These settings with embed's --normalize. */
    JobSettings forEmbed(boolean normalize) {
        return new JobSettings(model, modelName, device, threads, batch, priorSteps, decoderSteps, superResSteps, priorGuidance,
                decoderGuidance, imagesDir, score, normalize, failPartition);
    }

    /** The model of the running task: on the device Spark assigned it (see {@link TaskDevice}). */
    ExecutorModels.Key modelFor(String taskDevice) {
        return new ExecutorModels.Key(model, taskDevice, threads);
    }
}
