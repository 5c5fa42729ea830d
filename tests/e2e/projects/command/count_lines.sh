#!/bin/sh
# Counts the lines of every file in the input folder ($1) into count.txt of the output folder ($2).
mkdir -p "$2"
cat "$1"/* | wc -l | tr -d ' ' > "$2/count.txt"
echo "counted $(cat "$2/count.txt") lines; mode=$AML_PARAMETER_mode"
