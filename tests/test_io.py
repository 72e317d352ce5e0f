from __future__ import annotations

import os

import numpy as np
import pytest

from codesign.data.io import CALQ_COLUMNS, WaferFileError, convert_wafers, load_wafers, read_calq, write_wafers
from tests.conftest import write_csv

HEADER = ",".join(CALQ_COLUMNS)
ROW = ",".join(["0"] * 47 + ["5"])


def _row_with(col: int, text: str) -> str:
    cells = ["1"] * 48
    cells[col] = text
    return ",".join(cells)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (",".join(["1"] * 47), "line 3: expected 48 columns, found 47"),
        (",".join(["1"] * 49), "line 3: expected 48 columns, found 49"),
        (_row_with(7, "abc"), "line 3, column 7 (CALQ_7): not a number: 'abc'"),
        (_row_with(12, ""), "line 3, column 12 (CALQ_12): empty cell"),
        (_row_with(3, "nan"), "line 3, column 3 (CALQ_3): NaN or infinite charge: nan"),
        (_row_with(40, "-4"), "line 3, column 40 (CALQ_40): negative charge: -4"),
        (_row_with(0, "2.5"), "line 3, column 0 (CALQ_0): non-integer charge: 2.5"),
        (_row_with(5, "4194304"), "line 3, column 5 (CALQ_5): charge above the 22-bit CALQ range (at most 4194303): "
                                  "4194304"),
        (_row_with(5, str(2**63)), "line 3, column 5 (CALQ_5): charge above the 22-bit CALQ range (at most 4194303): "
                                   "9223372036854775808"),
        (_row_with(9, "9007199254740993"), "line 3, column 9 (CALQ_9): charge above the 22-bit CALQ range"),
        (_row_with(2, "x" * 200_000), "line 3: unreadable CSV (field larger than field limit (131072))"),
    ],
)
def test_malformed_csv_names_file_line_and_column(tmp_path, line, message):
    path = write_csv(tmp_path / "bad.csv", [HEADER, ROW, line])
    with pytest.raises(WaferFileError) as err:
        load_wafers(path)
    assert str(err.value).startswith(f"{path}, {message}")


@pytest.mark.parametrize(("content", "message"), [
    (b"\x1f\x8b\x08\x00compressed", "gzip-compressed; decompress it first"),
    ("CALQ_0\n\xe9\n".encode("latin-1"), "not a UTF-8 text file (byte 7: b'\\xe9')"),
    (b"\n\n\n", "no wafers (only blank lines)"),
])
def test_unreadable_content_names_the_file(tmp_path, content, message):
    """issue 19 item 10: encodings, compression and blank files give an error with the file."""
    path = tmp_path / "w.csv"
    path.write_bytes(content)
    with pytest.raises(WaferFileError, match=f"^{path}: ") as err:
        load_wafers(path)
    assert message in str(err.value)


def test_a_byte_order_mark_is_accepted_and_a_folder_is_named(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(("\ufeff" + HEADER + "\n" + ROW + "\n").encode("utf-8"))
    assert load_wafers(path).calq.tolist() == [[0] * 47 + [5]]
    with pytest.raises(WaferFileError, match="is a folder, expected a wafer file"):
        load_wafers(tmp_path)


def test_empty_file_is_an_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(WaferFileError, match="empty file"):
        load_wafers(path)


def test_header_without_wafers_is_an_error(tmp_path):
    with pytest.raises(WaferFileError, match="no wafers"):
        load_wafers(write_csv(tmp_path / "h.csv", [HEADER]))


def test_wrong_header_names_the_column(tmp_path):
    header = HEADER.replace("CALQ_5,", "CALQ_X,")
    with pytest.raises(WaferFileError, match=r"line 1, column 5: header 'CALQ_X', expected 'CALQ_5'"):
        load_wafers(write_csv(tmp_path / "h.csv", [header, ROW]))


def test_missing_file(tmp_path):
    with pytest.raises(WaferFileError, match="no such file"):
        load_wafers(tmp_path / "nope.csv")


def test_unnamed_columns_and_zero_wafers_dropped(tmp_path):
    zero = ",".join(["0"] * 48)
    path = write_csv(tmp_path / "plain.csv", [ROW, zero, _row_with(1, "7"), zero])
    ws = load_wafers(path)
    assert ws.n_dropped_zero == 2
    assert ws.calq.dtype == np.int64
    assert ws.calq.shape == (2, 48)
    assert ws.calq[1, 1] == 7 and ws.calq[0, 47] == 5
    assert load_wafers(path, drop_zero=False).calq.shape == (4, 48)


@pytest.mark.parametrize("suffix", [".h5", ".csv"])
def test_write_read_round_trip(tmp_path, suffix):
    calq = np.random.default_rng(0).integers(0, 5000, (100, 48))
    write_wafers(tmp_path / f"w{suffix}", calq)
    np.testing.assert_array_equal(load_wafers(tmp_path / f"w{suffix}").calq, calq)


def test_convert_keeps_every_row_both_ways(tmp_path):
    calq = np.random.default_rng(1).integers(0, 300, (50, 48))
    calq[10] = 0
    write_wafers(tmp_path / "a.csv", calq)
    assert convert_wafers(tmp_path / "a.csv", tmp_path / "b.h5") == 50
    assert convert_wafers(tmp_path / "b.h5", tmp_path / "c.csv") == 50
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "c.csv").read_text()


def test_hdf5_errors_name_dataset_and_row(tmp_path):
    import h5py

    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f["calq"] = np.array([[1.0] * 48, [1.0] * 47 + [-3.0]])
    with pytest.raises(WaferFileError, match=r"row 1, column 47 \(CALQ_47\): negative charge: -3"):
        load_wafers(path)
    with h5py.File(path, "w") as f:
        f["other"] = np.ones((2, 48))
    with pytest.raises(WaferFileError, match="no dataset 'calq'"):
        load_wafers(path)
    with h5py.File(path, "w") as f:
        f["calq"] = np.full((2, 48), 2**63, dtype=np.uint64)
    with pytest.raises(WaferFileError, match="row 0, column 0 .*above the 22-bit CALQ range.*9223372036854775808"):
        load_wafers(path)
    with h5py.File(path, "w") as f:
        f.create_group("calq")
    with pytest.raises(WaferFileError, match="'calq' is a group"):
        load_wafers(path)
    with h5py.File(path, "w") as f:
        f["calq"] = np.array([[b"a"] * 48])
    with pytest.raises(WaferFileError, match="holds \\|S1, expected numbers"):
        load_wafers(path)


def test_failed_write_leaves_nothing_behind(tmp_path):
    with pytest.raises(ValueError):
        write_wafers(tmp_path / "x.csv", np.ones((3, 47), dtype=int))
    write_wafers(tmp_path / "x.h5", np.ones((3, 48), dtype=int))
    before = (tmp_path / "x.h5").read_bytes()
    with pytest.raises(TypeError):
        write_wafers(tmp_path / "x.h5", np.array([[object()] * 48]))
    assert (tmp_path / "x.h5").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["x.h5"]


def test_real_highpu_file(highpu):
    assert highpu.shape == (3000, 48)
    assert highpu.min() == 0 and highpu[highpu > 0].min() == 2


def test_a_file_of_zero_wafers_is_an_input_error(tmp_path, capsys):
    """issue 19 item 5: `data stats` and `data compare` on all-zero wafers gave a traceback."""
    from codesign.cli import main

    path = write_csv(tmp_path / "zero.csv", [HEADER, ",".join(["0"] * 48)] * 1)
    assert main(["data", "stats", str(path)]) == 2
    assert "all 1 wafers are all-zero" in capsys.readouterr().err
    assert main(["data", "compare", str(path), str(path), "--out", str(tmp_path / "c")]) == 2
    assert load_wafers(path, drop_zero=False).calq.shape == (1, 48)


def test_rows_of_a_file_read_in_chunks_equal_the_whole_read(tmp_path, highpu):
    """issue 19 item 14: a test split is picked while streaming; all-zero wafers do not count, as in read_calq."""
    from codesign.data import io

    calq = highpu[:300].copy()
    calq[[5, 77]] = 0
    write_wafers(tmp_path / "w.csv", calq)
    whole = read_calq(tmp_path / "w.csv")
    rows = np.array([0, 4, 5, 100, 297])
    assert io.count_wafers(tmp_path / "w.csv", 7) == len(whole) == 298
    assert np.array_equal(io.read_wafer_rows(tmp_path / "w.csv", rows, 7), whole[rows])
    assert np.array_equal(np.concatenate(list(io.iter_wafers(tmp_path / "w.csv", 7))), calq)
    with pytest.raises(IndexError, match="row 298 asked"):
        io.read_wafer_rows(tmp_path / "w.csv", np.array([298]))


def test_hdf5_stores_stream_in_chunks(tmp_path):
    """issue 33, item 3: iter_wafers / count_wafers / read_wafer_rows read the whole dataset (and made two
    copies) of an HDF5 store; now one chunk at a time, so memory does not grow with the store."""
    import tracemalloc

    import h5py

    from codesign.data.io import count_wafers, read_wafer_rows

    n = 200_000
    path = tmp_path / "big.h5"
    with h5py.File(path, "w") as f:
        data = f.create_dataset("calq", shape=(n, 48), dtype="int32")
        for start in range(0, n, 50_000):
            block = np.zeros((50_000, 48), dtype=np.int32)
            block[:, start // 50_000] = np.arange(start, start + 50_000) % 1000
            data[start:start + 50_000] = block
    tracemalloc.start()
    try:
        counted = count_wafers(path)
        rows = read_wafer_rows(path, np.array([0, 7, counted - 1]))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert counted == n - n // 1000 and rows.shape == (3, 48)
    assert peak < 40e6, f"peak {peak / 1e6:.0f} MB for a {n * 48 * 4 / 1e6:.0f} MB store"
