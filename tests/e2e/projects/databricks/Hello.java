import org.apache.spark.sql.SparkSession;

/** A spark_jar_task's main class: prints its parameters and a count made by Spark. */
public class Hello {
    public static void main(String[] args) {
        SparkSession spark = SparkSession.builder().getOrCreate();
        long count = spark.range(4).count();
        System.out.println("hello from a jar: " + String.join(" ", args) + " count=" + count);
        spark.stop();
    }
}
