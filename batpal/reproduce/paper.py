"""The paper's reported values (Figure 2, Tables 1 and 3), to print beside ours; rows and columns as the paper names
them. Transcribed from the paper (rows lost in its text extraction are left out: blank in our tables)."""

from __future__ import annotations

FIGURE2_COLUMNS = ("BATPAL", "EIR-MAPPO", "Gen-Maxmin", "RAP", "MAPPO", "KT")
TABLE1_COLUMNS = ("No attack", "ACT", "DYN-1", "A-Gen-Maxmin")  # Table 1 is printed variants x attacks
TABLE3_COLUMNS = ("K=3", "K=4", "K=5")

_FIGURE2 = {
    "mpe_spread": """
        No attack | 1.00 0.97 0.94 0.57 0.99 1.00
        Severity 1 | 0.87 0.78 0.83 0.58 0.85 0.84
        Severity 2 | 0.81 0.57 0.70 0.17 0.70 0.83
        Severity 3 | 0.77 0.62 0.68 0.31 0.67 0.82
        Severity 4 | 0.73 0.49 0.66 0.02 0.58 0.82
        A-EIR-MAPPO | 0.64 0.67 0.47 0.30 0.54 0.69
        A-Gen-Maxmin | 0.80 0.49 0.83 0.02 0.61 0.83
        A-RAP | 0.61 0.65 0.54 0.24 0.55 0.66
        ACT | 0.81 0.49 0.66 0.00 0.53 0.83
        DYN-1 | 0.67 0.51 0.51 0.35 0.59 0.77
        DYN-2 | 0.72 0.47 0.62 0.05 0.63 0.73""",
    "lbf": """
        Severity 2 | 0.50 0.18 0.29 0.24 0.21 0.68
        Severity 3 | 0.32 0.12 0.29 0.26 0.12 0.59
        Severity 4 | 0.35 0.00 0.18 0.21 0.06 0.62
        A-EIR-MAPPO | 0.26 0.06 0.03 0.15 0.00 0.35
        A-Gen-Maxmin | 0.38 0.21 0.68 0.29 0.18 0.68
        A-RAP | 0.32 0.15 0.26 0.15 0.24 0.53
        ACT | 0.35 0.15 0.24 0.26 0.24 0.50
        DYN-1 | 0.53 0.32 0.44 0.18 0.24 0.71
        DYN-2 | 0.59 0.24 0.50 0.24 0.35 0.53""",
    "smac_2s3z": """
        No attack | 0.98 0.96 0.98 0.94 0.96 1.00
        Severity 1 | 0.66 0.49 0.84 0.79 0.58 0.96
        Severity 2 | 0.55 0.12 0.18 0.39 0.11 0.94
        Severity 3 | 0.60 0.09 0.00 0.09 0.00 0.73
        Severity 4 | 0.70 0.07 0.05 0.08 0.00 0.73
        A-EIR-MAPPO | 0.38 0.20 0.04 0.17 0.00 0.65
        A-Gen-Maxmin | 0.50 0.15 0.64 0.47 0.08 0.69
        A-RAP | 0.51 0.19 0.01 0.58 0.00 0.64
        ACT | 0.72 0.35 0.22 0.20 0.00 0.75
        DYN-1 | 0.52 0.27 0.12 0.21 0.10 0.83
        DYN-2 | 0.71 0.56 0.57 0.74 0.38 0.90""",
    "smac_mmm": """
        No attack | 1.00 0.98 1.00 1.00 1.00 1.00
        A-EIR-MAPPO | 0.85 0.83 0.62 0.80 0.43 0.87
        A-Gen-Maxmin | 0.93 0.62 0.92 0.83 0.51 0.98
        A-RAP | 0.93 0.82 0.49 0.84 0.37 0.93
        ACT | 0.89 0.75 0.79 0.78 0.46 0.87
        DYN-1 | 0.82 0.62 0.70 0.78 0.47 0.90
        DYN-2 | 0.92 0.80 0.86 0.83 0.42 0.96""",
}

_TABLE1 = {  # rows are the variants (defenders), columns the attacks
    "mpe_spread": """
        BATPAL | 1.00 0.81 0.67 0.80
        No Belief | 0.81 0.70 0.67 0.61
        Perfect Belief | 1.02 0.75 0.78 0.68
        EC PG | 0.97 0.75 0.65 0.74
        Fixed Types | 0.95 0.78 0.59 0.67""",
    "smac_2s3z": """
        BATPAL | 0.98 0.72 0.52 0.50
        No Belief | 0.96 0.33 0.30 0.36
        Perfect Belief | 1.00 0.34 0.42 0.39
        EC PG | 0.96 0.41 0.38 0.41
        Fixed Types | 0.94 0.42 0.14 0.19""",
}

_TABLE3 = {
    "mpe_spread": """
        No attack | 0.99 1.0 1.0
        A-EIR-MAPPO | 0.72 0.64 0.73
        ACT | 0.79 0.81 0.89
        DYN-1 | 0.64 0.67 0.71
        DYN-2 | 0.70 0.72 0.70""",
    "lbf": """
        No attack | 1.0 1.0 1.01
        A-EIR-MAPPO | 0.20 0.26 0.38
        ACT | 0.18 0.35 0.35
        DYN-1 | 0.44 0.52 0.53
        DYN-2 | 0.52 0.58 0.60""",
    "smac_2s3z": """
        No attack | 0.94 0.98 0.98
        A-EIR-MAPPO | 0.1 0.38 0.29
        ACT | 0.16 0.72 0.79
        DYN-1 | 0.23 0.52 0.53
        DYN-2 | 0.55 0.71 0.76""",
    "smac_mmm": """
        No attack | 1 1 1
        A-EIR-MAPPO | 0.83 0.85 0.87
        ACT | 0.87 0.89 0.88
        DYN-1 | 0.83 0.82 0.88
        DYN-2 | 0.89 0.92 0.92""",
}


def _parse(text: str, columns: tuple[str, ...]) -> dict[tuple[str, str], float]:
    """``row | v1 v2 ...`` lines -> {(row, column): value}."""
    out = {}
    for line in text.strip().splitlines():
        row, values = (part.strip() for part in line.split("|"))
        for column, value in zip(columns, values.split(), strict=True):
            out[row, column] = float(value)
    return out


def paper_values(table: str, env_name: str) -> dict[tuple[str, str], float]:
    """{(attack, defender): the paper's value} of ``table`` on ``env_name``; empty where the paper has none."""
    if table == "figure2":
        return _parse(_FIGURE2.get(env_name, ""), FIGURE2_COLUMNS)
    if table == "table3":
        return _parse(_TABLE3.get(env_name, ""), TABLE3_COLUMNS)
    if table == "table1":
        transposed = _parse(_TABLE1.get(env_name, ""), TABLE1_COLUMNS)
        return {(attack, variant): value for (variant, attack), value in transposed.items()}
    raise ValueError(f"unknown table {table!r}.")
