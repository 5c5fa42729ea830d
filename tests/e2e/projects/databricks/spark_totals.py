"""A DatabricksStep script (python_script_name): v1 passes inputs and outputs as `-<name> <path>` parameters."""

import argparse

from pyspark.sql import SparkSession, functions

parser = argparse.ArgumentParser()
parser.add_argument("--minimum", type=float, default=0)
parser.add_argument("-sales")
parser.add_argument("-totals")
args = parser.parse_args()

spark = SparkSession.builder.getOrCreate()
sales = spark.read.option("header", True).option("inferSchema", True).csv(args.sales)
totals = (
    sales.where(functions.col("amount") >= args.minimum)
    .groupBy("region")
    .agg(functions.sum("amount").alias("total"))
    .orderBy("region")
)
totals.coalesce(1).write.option("header", True).csv(args.totals)
print("regions written:", totals.count())
