"""A DatabricksStep script that runs until canceled."""

import sys
import time

from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
print("started", sys.argv[1:], spark.range(2).count(), flush=True)
time.sleep(600)
