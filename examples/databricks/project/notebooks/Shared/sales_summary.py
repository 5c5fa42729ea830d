# Databricks notebook source
# ruff: noqa: F821 - spark and dbutils are the notebook's globals on Databricks
# MAGIC %md
# MAGIC # Sales summary
# MAGIC The DatabricksStep passes its input `sales` and its parameter `minimum` as widgets.

# COMMAND ----------

sales_path = dbutils.widgets.get("sales")
minimum = float(dbutils.widgets.get("minimum"))
sales = spark.read.option("header", True).option("inferSchema", True).csv(sales_path)
big = sales.where(sales.amount >= minimum).count()
print(f"{big} of {sales.count()} sales are at least {minimum:g}")

# COMMAND ----------

dbutils.notebook.exit(f"{big} sales >= {minimum:g}")
