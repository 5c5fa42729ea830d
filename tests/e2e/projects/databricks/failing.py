"""A DatabricksStep script that fails: its error must reach the step's failure reason."""

from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
raise ValueError(f"bad sales data in {spark.range(3).count()} rows")
