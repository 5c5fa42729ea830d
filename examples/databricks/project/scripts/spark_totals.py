"""A DatabricksStep script: v1 passes the step's inputs and outputs as `-<name> <path>` parameters."""

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
    .agg(functions.count("*").alias("sales"), functions.sum("amount").alias("total"))
    .orderBy("region")
)
totals.coalesce(1).write.option("header", True).csv(args.totals)
print(f"totals of {totals.count()} regions written to {args.totals}")
