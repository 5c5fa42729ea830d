# Databricks notebook source
# ruff: noqa: F821 - dbutils and spark are the notebook's globals
# MAGIC %md
# MAGIC A notebook run by a DatabricksStep: a PipelineParameter widget, an input widget, a Spark read.

# COMMAND ----------

myparam = dbutils.widgets.get("myparam")
sales = dbutils.widgets.get("sales")
print("widget myparam:", myparam)

# COMMAND ----------

rows = spark.read.option("header", True).csv(sales).count()
dbutils.notebook.exit(f"{myparam}|{rows} rows")
