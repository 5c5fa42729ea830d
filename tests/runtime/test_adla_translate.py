"""The U-SQL subset translator (durableml.runner.usql) and the AdlaStep driver (durableml.runner.adla): each
supported construct, run on DuckDB where it matters, and each refusal with its construct and line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from durableml.jobs import input_placeholder, output_placeholder
from durableml.runner import adla
from durableml.runner.usql import Output, Query, Unsupported, UsqlError, substitute_placeholders, translate
from durableml.stepkinds import adla as adla_kind
from durableml.stepkinds.base import JobBasis

EXTRACT = '@rs = EXTRACT a int, b string FROM "in.csv" USING Extractors.Csv();\n'


def sql_of(script: str, **options: Any) -> list[str]:
    return [s.sql if isinstance(s, Query) else s.copy_sql(["b"]) for s in translate(script, **options)]


def refused(script: str, **options: Any) -> Unsupported:
    with pytest.raises(Unsupported) as caught:
        translate(script, **options)
    return caught.value


def test_extract_maps_types_and_extractor_options() -> None:
    [sql] = sql_of(
        "@rs =\n  EXTRACT s string, i int, l long?, d double, f float, m decimal, t DateTime, ok bool, g Guid\n"
        '  FROM "a.tsv", "b" + ".tsv" USING Extractors.Tsv(skipFirstNRows: 1, silent: true, nullEscape: "\\\\N");'
    )
    assert sql.startswith("CREATE TEMP TABLE \"rs_1\" AS SELECT * FROM read_csv(['a.tsv', 'b.tsv'], columns={")
    assert "'s': 'VARCHAR', 'i': 'INTEGER', 'l': 'BIGINT', 'd': 'DOUBLE', 'f': 'FLOAT'" in sql
    assert "'m': 'DECIMAL(38,10)', 't': 'TIMESTAMP', 'ok': 'BOOLEAN', 'g': 'UUID'" in sql
    assert "delim='\t'" in sql and "skip=1" in sql and "ignore_errors=true" in sql and "nullstr='\\N'" in sql
    [csv] = sql_of('@x = EXTRACT a Int32 FROM "f" USING Extractors.Csv(quoting: false, encoding: Encoding.UTF8);')
    assert "delim=','" in csv and "quote=''" in csv and "ignore_errors" not in csv
    [text] = sql_of("@x = EXTRACT a System.String FROM \"f\" USING Extractors.Text(delimiter: '|');")
    assert "delim='|'" in text and "'a': 'VARCHAR'" in text


def test_declare_variables_paths_and_external_params() -> None:
    script = (
        'DECLARE @dir string = @"/data";\n'
        'DECLARE @in = @dir + "/in.csv";\n'
        "DECLARE EXTERNAL @min int = 3;\n"
        'DECLARE @since DateTime = DateTime.Parse("2024-01-01");\n'
        "@rs = EXTRACT a int, t DateTime FROM @in USING Extractors.Csv();\n"
        "@big = SELECT a FROM @rs WHERE a > @min AND t >= @since;\n"
    )
    extract, select = sql_of(script)
    assert "read_csv(['/data/in.csv']" in extract
    assert select == (
        'CREATE TEMP TABLE "big_1" AS SELECT "a" FROM "rs_1" WHERE "a" > (CAST(3 AS INTEGER)) AND "t" >= '
        "(CAST(usql_datetime_parse ( '2024-01-01' ) AS TIMESTAMP))"
    )
    assert "(CAST(10 AS INTEGER))" in sql_of(script, params={"min": 10})[1]
    assert "(CAST(3 AS INTEGER))" in sql_of(script, params={"other": 10})[1]


def test_select_translates_csharp_operators_and_literals() -> None:
    [_, sql] = sql_of(
        EXTRACT + '@r = SELECT a, b AS [the b] FROM @rs WHERE (a == 1 && b != "x\\"y") || !(a >= 2.5m) '
        "|| b == null && a != null || b == 'c' && true;"
    )
    assert sql == (
        'CREATE TEMP TABLE "r_1" AS SELECT "a" , "b" AS "the b" FROM "rs_1" WHERE ( "a" = 1 AND "b" <> \'x"y\' ) '
        'OR NOT ( "a" >= 2.5 ) OR "b" IS NULL AND "a" IS NOT NULL OR "b" = \'c\' AND TRUE'
    )


def test_plus_next_to_a_string_literal_concatenates() -> None:
    [_, sql] = sql_of(EXTRACT + '@r = SELECT b + "!" AS e, "<" + b AS f, a + 1 AS g FROM @rs;')
    assert (
        sql
        == 'CREATE TEMP TABLE "r_1" AS SELECT "b" || \'!\' AS "e" , \'<\' || "b" AS "f" , "a" + 1 AS "g" FROM "rs_1"'
    )


def test_values_with_an_alias_and_its_columns() -> None:
    [sql] = sql_of('@v = SELECT * FROM (VALUES (1, "a"), (2, "b")) AS T(n, s);')
    assert (
        sql == 'CREATE TEMP TABLE "v_1" AS SELECT * FROM ( VALUES ( 1 , \'a\' ) , ( 2 , \'b\' ) ) AS "T" ( "n" , "s" )'
    )


def test_group_by_aggregates_order_fetch_join_union() -> None:
    script = EXTRACT + (
        "@g = SELECT b, COUNT(*) AS n, SUM(a) AS s, AVG(a) AS m, MIN(a) AS lo, MAX(a) AS hi, COUNT(DISTINCT a) AS d\n"
        "     FROM @rs GROUP BY b HAVING COUNT(*) > 1 ORDER BY n DESC OFFSET 1 ROWS FETCH 10 ROWS;\n"
        "@j = SELECT x.b, y.n FROM @rs AS x INNER JOIN @g AS y ON x.b == y.b LEFT OUTER JOIN @g AS z ON x.b == z.b;\n"
        "@u = SELECT b FROM @rs UNION ALL SELECT b FROM @g;\n"
        "@rs = SELECT a FROM @rs;\n"
    )
    _, g, j, u, again = sql_of(script)
    assert 'GROUP BY "b" HAVING COUNT ( * ) > 1 ORDER BY "n" DESC OFFSET 1 ROWS FETCH FIRST 10 ROWS ONLY' in g
    assert 'COUNT ( DISTINCT "a" ) AS "d"' in g and 'SUM ( "a" )' in g
    assert 'FROM "rs_1" AS "x" INNER JOIN "g_1" AS "y" ON "x"."b" = "y"."b" LEFT OUTER JOIN' in j
    assert u.endswith('SELECT "b" FROM "rs_1" UNION ALL SELECT "b" FROM "g_1"')
    assert again == 'CREATE TEMP TABLE "rs_2" AS SELECT "a" FROM "rs_1"'  # a reassigned rowset is a new table


def test_output_options() -> None:
    script = EXTRACT + 'OUTPUT @rs TO "out.csv" ORDER BY a DESC USING Outputters.Csv(outputHeader: true);'
    [_, output] = translate(script)
    assert isinstance(output, Output) and output.line == 2
    assert output.copy_sql(["b"]) == (
        'COPY (SELECT * FROM "rs_1" ORDER BY "a" DESC) TO \'out.csv\' '
        "(FORMAT csv, HEADER true, DELIMITER ',', NULLSTR '', FORCE_QUOTE (\"b\"))"
    )
    [_, tsv] = translate(EXTRACT + 'OUTPUT @rs TO "o" USING Outputters.Tsv(quoting: false, nullEscape: "NA");')
    assert (
        tsv.copy_sql(["b"])
        == "COPY (SELECT * FROM \"rs_1\") TO 'o' (FORMAT csv, HEADER false, DELIMITER '\t', NULLSTR 'NA', QUOTE '')"
    )  # type: ignore[union-attr]  # noqa: E501
    [_, text] = translate(EXTRACT + "OUTPUT @rs TO \"o\" USING Outputters.Text(delimiter: ';');")
    assert isinstance(text, Output) and text.delimiter == ";"


def test_comments_strings_and_statement_lines() -> None:
    script = (
        "// a comment; with a semicolon\n"
        '/* a block\n   comment */ DECLARE @p string = "a;b";\n'
        "\n"
        "@rs = EXTRACT a int FROM @p USING Extractors.Csv();\n"
    )
    [step] = translate(script)
    assert isinstance(step, Query) and step.line == 5 and "read_csv(['a;b']" in step.sql


@pytest.mark.parametrize(
    ("script", "construct", "line"),
    [
        ("REFERENCE ASSEMBLY MyLib;", "REFERENCE ASSEMBLY", 1),
        ("USING Foo = System.Text;", "USING (C# namespace aliases)", 1),
        ("\nCREATE DATABASE IF NOT EXISTS Db;", "CREATE DATABASE", 2),
        ("USE DATABASE Db;", "USE DATABASE", 1),
        ("CREATE FUNCTION F() RETURNS int AS BEGIN END;", "CREATE FUNCTION (user-defined code)", 1),
        ("DROP TABLE IF EXISTS T;", "DROP TABLE", 1),
        ("INSERT INTO T SELECT 1;", "INSERT", 1),
        ('SET @@FeaturePreviews = "x:on";', "@@ system variables", 1),
        ('DEPLOY RESOURCE "a.txt";', "DEPLOY RESOURCE", 1),
        (EXTRACT + "@x =\n SELECT b.ToUpper() AS u FROM @rs;", "the C# method or user-defined function b.ToUpper()", 3),
        (EXTRACT + "@x = SELECT MyUdfs.Clean(b) AS c FROM @rs;", "MyUdfs.Clean()", 2),
        (EXTRACT + "@x = SELECT Clean(b) AS c FROM @rs;", "Clean()", 2),
        (EXTRACT + "@x = SELECT a > 1 ? 1 : 0 AS c FROM @rs;", "the C# conditional operator ?:", 2),
        (EXTRACT + '@x = SELECT b ?? "" AS c FROM @rs;', "??", 2),
        (EXTRACT + "@x = SELECT (int) b AS c FROM @rs;", "the C# cast (int)", 2),
        (EXTRACT + "@x = SELECT new Foo() AS c FROM @rs;", "C# object creation", 2),
        (EXTRACT + "@x = PROCESS @rs PRODUCE a USING new My.Processor();", "PROCESS (a user-defined processor)", 2),
        (EXTRACT + "@x = REDUCE @rs ON a USING new My.Reducer();", "REDUCE", 2),
        (EXTRACT + "@x = SELECT a, w FROM @rs CROSS APPLY EXPLODE(b) AS T(w);", "CROSS APPLY", 2),
        (EXTRACT + "@x = SELECT ROW_NUMBER() OVER (ORDER BY a) AS n FROM @rs;", "ROW_NUMBER()", 2),
        ("@x = SELECT * FROM dbo.Sales;", "the U-SQL catalog table dbo.Sales", 1),
        ('@x = EXTRACT a int FROM "f" USING new MyExtractor();', "a user-defined extractor", 1),
        ('@x = EXTRACT a int FROM "f" USING My.Extractor();', "the user-defined extractor My.Extractor", 1),
        ('@x = EXTRACT a int FROM "f" USING Extractors.Parquet();', "Extractors.Parquet", 1),
        ('@x = EXTRACT a int FROM "f" USING Extractors.Csv(rowDelimiter: "\\n");', "option rowDelimiter", 1),
        ("@x = EXTRACT a int FROM \"f\" USING Extractors.Csv(delimiter: ';');", "Extractors.Csv option delimiter", 1),
        ('@x = EXTRACT a SqlArray<string> FROM "f" USING Extractors.Csv();', "the column type SqlArray", 1),
        ('@x = EXTRACT a MyType FROM "f" USING Extractors.Csv();', "the type MyType", 1),
        ('@x = EXTRACT a int FROM "/d/{date:yyyy}/f.csv" USING Extractors.Csv();', "{date:yyyy}", 1),
        ('@x = EXTRACT a int FROM "f" USING Extractors.Csv(encoding: Encoding.Unicode);', "Encoding.Unicode", 1),
        (EXTRACT + 'OUTPUT @rs TO "o" USING new MyOutputter();', "a user-defined outputter", 2),
        (EXTRACT + 'OUTPUT @rs TO "o" USING Outputters.Csv(dateTimeFormat: "s");', "option dateTimeFormat", 2),
        (EXTRACT + "@x = SELECT a FROM @rs AS r SEMIJOIN @rs AS s ON r.a == s.a;", "SEMIJOIN", 2),
        (EXTRACT + "\n\n@x = SELECT a FROM @rs WHERE a > 2 && b.Trim().Length > 1;", "b.Trim()", 4),
        ("IF (1 == 1) THEN DECLARE @a int = 1; END;", "IF ... ELSE", 1),
        (EXTRACT + "@x = SELECT a FROM @rs WHERE b.Length > 2;", "the C# member access b.Length", 2),
        ("DECLARE @now DateTime = DateTime.Now;", "the C# member access DateTime.Now", 1),
        (EXTRACT + 'OUTPUT @rs TO "o" ORDER BY r.a USING Outputters.Csv();', "the C# member access r.a", 2),
    ],
)
def test_constructs_outside_the_subset_are_refused_with_their_line(script: str, construct: str, line: int) -> None:
    error = refused(script)
    assert construct in error.construct and error.line == line, (error.construct, error.line)
    assert str(error).startswith(f"U-SQL line {line}: ") and "not supported" in str(error)


@pytest.mark.parametrize(
    ("script", "message", "line"),
    [
        ("@x = SELECT a FROM @nowhere;", "@nowhere is not declared", 1),
        ("DECLARE @a int = 1;\nDECLARE @a int = 2;", "declared twice", 2),
        ('\n@x = EXTRACT a int FROM "f" USING Extractors.Csv()', "does not end with ';'", 2),
        ("@x = EXTRACT a int FROM 42 USING Extractors.Csv();", "must be a string", 1),
        (EXTRACT + 'OUTPUT @other TO "o" USING Outputters.Csv();', "rowset @other is not assigned", 2),
        ('DECLARE @s string = "unclosed;\n', "not closed", 1),
    ],
)
def test_errors_name_the_line(script: str, message: str, line: int) -> None:
    with pytest.raises(UsqlError) as caught:
        translate(script)
    assert message in str(caught.value) and caught.value.line == line, str(caught.value)


def test_placeholders_are_replaced_except_in_comments() -> None:
    script = (
        "// reads @@anything@@\n"
        '@rs = EXTRACT a int FROM "@@in@@" USING Extractors.Csv();\n'
        'OUTPUT @rs TO "@@out@@/x.csv" USING Outputters.Csv();'
    )
    replaced = substitute_placeholders(script, {"in": "/staged/in.csv", "out": "/outputs/out"})
    assert '"/staged/in.csv"' in replaced and '"/outputs/out/x.csv"' in replaced and "@@anything@@" in replaced
    with pytest.raises(UsqlError, match=r"U-SQL line 2: @@in@@ names no input, output or param"):
        substitute_placeholders(script, {"out": "o"})


def test_the_driver_runs_a_script_on_duckdb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        "id,name,score,day",
        "1,ann,10,2024-01-01",
        "2,bob,,2024-01-02",
        '3,"c, d",7,2024-01-03',
        "4,ann,5,2024-01-04",
    ]
    (tmp_path / "in.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "names.tsv").write_text("ann\tAnn A.\nbob\tBob B.\n")
    (tmp_path / "job.usql").write_text(
        "DECLARE EXTERNAL @cut int = 0;\n"
        '@s = EXTRACT id int, name string, score int?, day DateTime FROM "@@scores@@" '
        "USING Extractors.Csv(skipFirstNRows: 1);\n"
        '@n = EXTRACT name string, full string FROM "@@names@@" USING Extractors.Tsv();\n'
        "@t = SELECT s.name, n.full, COUNT(*) AS rows, SUM(s.score) AS total FROM @s AS s\n"
        "     LEFT OUTER JOIN @n AS n ON s.name == n.name\n"
        "     WHERE s.score == null || s.score > @cut GROUP BY s.name, n.full;\n"
        "@t = SELECT * FROM @t UNION ALL\n"
        '     SELECT "zed" AS name, "Z" AS full, 0 AS rows, 0 AS total FROM @t WHERE name == "ann";\n'
        'OUTPUT @t TO "@@totals@@" ORDER BY name USING Outputters.Csv(outputHeader: true);\n'
    )
    out = tmp_path / "outputs" / "totals"
    out.mkdir(parents=True)  # a PipelineData output's folder becomes the file
    args = ["job.usql", "--input", "scores", str(tmp_path / "in.csv"), "--input", "names", str(tmp_path / "names.tsv"),
            "--output", "totals", str(out), "--params", json.dumps({"cut": 6}), "--threads", "2"]  # fmt: skip
    cwd = Path.cwd()
    try:
        import os

        os.chdir(tmp_path)
        assert adla.main(args) == 0, capsys.readouterr().out
    finally:
        os.chdir(cwd)
    assert out.read_text().splitlines() == [
        '"name","full",rows,total',
        '"ann","Ann A.",1,10',
        '"bob","Bob B.",1,',
        '"c, d",,1,7',
        '"zed","Z",0,0',
    ]
    assert "AdlaStep: done" in capsys.readouterr().out


def test_the_driver_fails_with_the_reason_as_its_last_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the step's snapshot: the driver reads no script outside it
    (tmp_path / "bad.usql").write_text('@rs = EXTRACT a int FROM "@@in@@" USING Extractors.Csv();\n\n'
                                       "@x = SELECT Helpers.Normalize(a) AS b FROM @rs;\n")  # fmt: skip
    assert adla.main([str(tmp_path / "bad.usql"), "--input", "in", str(tmp_path / "x.csv")]) == 1
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("AdlaStep failed: U-SQL line 3: the C# method or user-defined function Helpers.Normalize()")

    (tmp_path / "x.csv").write_text("1\nnot a number\n")
    (tmp_path / "strict.usql").write_text('@rs = EXTRACT a int FROM "@@in@@" USING Extractors.Csv();\n'
                                          'OUTPUT @rs TO "o.csv" USING Outputters.Csv();\n')  # fmt: skip
    assert adla.main([str(tmp_path / "strict.usql"), "--input", "in", str(tmp_path / "x.csv")]) == 1
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("AdlaStep failed: U-SQL line 1: EXTRACT into @rs failed: "), last


def test_the_kind_builds_the_driver_job() -> None:
    basis = JobBasis(
        job_id="j", run_id="r", step_name="totals", snapshot="s", arguments=[],
        connection_string="UseDevelopmentStorage=true",
        inputs={"sales": {"container": "c", "path_on_datastore": "in.csv"}},
        outputs={"totals": {"container": "c", "path_on_datastore": "azureml/r/totals", "is_directory": True}},
        settings={"scriptName": "totals.usql", "params": {"minimum": {"kind": "literal", "value": 2}, "tag": "x"},
                  "degreeOfParallelism": 4, "priority": 100, "runtimeVersion": None},
    )  # fmt: skip
    job = adla_kind.to_job(basis)
    assert job.script_name == "durableml:runner/adla.py"
    assert job.arguments == [
        "totals.usql", "--input", "sales", input_placeholder("sales"), "--output", "totals",
        output_placeholder("totals"), "--params", '{"minimum": 2, "tag": "x"}', "--threads", "4",
    ]  # fmt: skip
    assert adla_kind.KIND.runnable and "DataLakeAnalytics" in adla_kind.KIND.compute_types
