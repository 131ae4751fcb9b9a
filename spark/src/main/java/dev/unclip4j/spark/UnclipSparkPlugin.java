package dev.unclip4j.spark;

import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.SparkPlugin;

/**
 * Frees the executor's models when the executor stops: Spark calls every executor plugin's
 * {@code shutdown()} from {@code Executor.stop()}, after its tasks are done or killed, in local
 * mode too (where the driver's JVM is the executor). Enabled by {@code spark.plugins}, which
 * {@link SparkJob} sets.
 */
public final class UnclipSparkPlugin implements SparkPlugin {
    @Override
    public DriverPlugin driverPlugin() {
        return null;
    }

    @Override
    public ExecutorPlugin executorPlugin() {
        return new ExecutorPlugin() {
            @Override
            public void shutdown() {
                ExecutorModels.closeAll();
            }
        };
    }
}
