package dev.unclip4j.spark;

import java.util.List;
import java.util.Map;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;

/**
 * The device a task's model runs on. With {@code auto} (the job's default) it is the GPU that
 * Spark assigned to the task ({@code spark.task.resource.gpu.amount} with GPUs on the executor),
 * else the CPU: a task never takes a GPU that Spark did not give it, since another executor on
 * the same machine may have been given it. {@code cpu}, {@code cuda} and {@code cuda:N} name a
 * device outright, for clusters that do not schedule GPUs.
 */
public final class TaskDevice {
    /** The resource name Spark's GPU scheduling uses. */
    static final String GPU = "gpu";

    private TaskDevice() {}

    /** The device for the running task: {@code requested} resolved against its resources and the environment. */
    public static String forTask(String requested, TaskContext task) {
        Map<String, ResourceInformation> resources = task == null ? Map.of() : task.resourcesJMap();
        ResourceInformation gpu = resources.get(GPU);
        List<String> addresses = gpu == null ? List.of() : List.of(gpu.addresses());
        return resolve(requested, addresses, System.getenv("CUDA_VISIBLE_DEVICES"));
    }

    /**
     * {@code requested} given the GPU addresses Spark assigned (empty: none) and the value of
     * CUDA_VISIBLE_DEVICES (null: unset). "auto" → "cuda:N" for the first address, else "cpu".
     */
    static String resolve(String requested, List<String> gpuAddresses, String cudaVisibleDevices) {
        if (!requested.equals("auto")) return requested;
        if (gpuAddresses.isEmpty()) return "cpu";
        return "cuda:" + cudaOrdinal(gpuAddresses.getFirst(), cudaVisibleDevices);
    }

    /**
     * The CUDA device ordinal of a Spark GPU address. Discovery scripts (Spark's
     * getGpusResources.sh) report nvidia-smi's indices, which ignore CUDA_VISIBLE_DEVICES; CUDA
     * numbers only the devices that variable lists, in its order. So with the variable set, the
     * ordinal is the address's place in it (addresses may also be GPU UUIDs listed there);
     * without it, the address is the ordinal.
     */
    static int cudaOrdinal(String address, String cudaVisibleDevices) {
        if (cudaVisibleDevices != null && !cudaVisibleDevices.isBlank()) {
            List<String> visible = List.of(cudaVisibleDevices.strip().split("\\s*,\\s*"));
            int at = visible.indexOf(address);
            if (at < 0) {
                throw new IllegalStateException("Spark assigned GPU " + address + ", which CUDA_VISIBLE_DEVICES="
                        + cudaVisibleDevices + " does not list: the discovery script and the variable disagree");
            }
            return at;
        }
        try {
            int n = Integer.parseInt(address.strip());
            if (n >= 0) return n;
        } catch (NumberFormatException e) {
            // not a number: reported below
        }
        throw new IllegalStateException("Spark assigned GPU '" + address + "', which is not a CUDA device index (and "
                + "CUDA_VISIBLE_DEVICES is not set to map it): make the discovery script report indices");
    }
}
