package cairn.es;

import org.elasticsearch.cluster.ClusterName;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.PluginsLoader;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Minimal foreground launcher for a single local Elasticsearch node (Cairn dev/test only).
 *
 * The stock entry point (org.elasticsearch.bootstrap.Elasticsearch) expects the server-cli process
 * (not published to Maven Central) to feed it serialized arguments on stdin, refuses to run as root,
 * and needs the entitlement agent jar (also not on Maven Central). This launcher does the parts that
 * matter for a local node: load elasticsearch.yml from es.path.conf, configure log4j, load the modules
 * under ES_HOME/modules, construct and start org.elasticsearch.node.Node, and close it on SIGTERM/SIGINT.
 * No bootstrap checks, no entitlement sandbox, no root check.
 *
 * System properties: es.path.home (required), es.path.conf (required).
 */
public final class LocalNode {
    private LocalNode() {}

    public static void main(String[] args) throws Exception {
        final Path home = Path.of(required("es.path.home")).toAbsolutePath();
        final Path conf = Path.of(required("es.path.conf")).toAbsolutePath();
        if (Files.isRegularFile(conf.resolve("elasticsearch.yml")) == false) {
            throw new IllegalStateException("missing " + conf.resolve("elasticsearch.yml"));
        }

        LogConfigurator.registerErrorListener();
        // ES logging facade must exist before parsing elasticsearch.yml (x-content logs through it)
        LogConfigurator.configureESLogging();
        final Environment env = InternalSettingsPreparer.prepareEnvironment(
            Settings.builder().put(Environment.PATH_HOME_SETTING.getKey(), home.toString()).build(),
            Map.of(),
            conf,
            () -> "cairn-local"
        );
        LogConfigurator.setClusterName(ClusterName.CLUSTER_NAME_SETTING.get(env.settings()).value());
        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(env.settings()));
        LogConfigurator.configure(env, true);

        final PluginsLoader plugins = PluginsLoader.createPluginsLoader(
            PluginsLoader.loadModulesBundles(env.modulesDir()),
            PluginsLoader.loadPluginsBundles(env.pluginsDir()),
            Map.of()
        );

        final AtomicReference<Node> nodeRef = new AtomicReference<>();
        final CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                Node node = nodeRef.get();
                if (node != null) {
                    node.prepareForClose();
                    node.close();
                    if (node.awaitClose(10, TimeUnit.SECONDS) == false) {
                        System.err.println("[cairn-es] node did not stop within 10s");
                    }
                }
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "cairn-es-shutdown"));

        try {
            nodeRef.set(new Node(env, plugins));
            nodeRef.get().start();
        } catch (Throwable t) {
            // node threads are non-daemon: without an explicit exit a failed start would hang forever
            System.err.println("[cairn-es] FATAL: node failed to start: " + t);
            t.printStackTrace();
            System.exit(1);
        }
        // keep the JVM alive until the shutdown hook has closed the node
        stopped.await();
    }

    private static String required(String key) {
        String v = System.getProperty(key);
        if (v == null || v.isBlank()) {
            throw new IllegalStateException("system property " + key + " is required");
        }
        return v;
    }
}
