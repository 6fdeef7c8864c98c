using FixedShapeAttention;

namespace FixedShapeAttention.Tests;

// The shapes the agreement theory runs through the real generator (this project references it as an analyzer).
// Together they reach every emitted path: full unroll and blocked, row tails of 1–3 rows, column tails
// (overlapping vectors, narrower Vector256/Vector128 slots, scalar columns), padded score rows, one and several
// heads, head dim 1, causal, every activation, several chunks per head and per sequence, heads walked in blocks of rows.

/// <summary>The seed's worked example: four tokens of width 3, one head.</summary>
[TransformerShape(4, 3, 12)]
public partial class WorkedExample { }

[TransformerShape(1, 1, 1)]
public partial class Tiny { }

[TransformerShape(7, 13, 29)]
public partial class Odd { }

[TransformerShape(9, 24, 40, Heads = 3)]
public partial class ThreeHeads { }

[TransformerShape(5, 4, 8, Heads = 4)]
public partial class HeadDimOne { }

[TransformerShape(13, 20, 36, Heads = 4, Causal = true, Activation = Activation.Gelu)]
public partial class CausalGelu { }

[TransformerShape(37, 32, 64, Heads = 2, Causal = true, Activation = Activation.Silu)]
public partial class CausalSilu { }

[TransformerShape(6, 16, 48, Activation = Activation.GeluTanh)]
public partial class GeluTanhShape { }

[TransformerShape(33, 96, 200, Heads = 3, Activation = Activation.Silu)]
public partial class Medium { }

/// <summary>all-MiniLM-L6-v2's layer at 128 tokens.</summary>
[TransformerShape(128, 384, 1536, Heads = 12)]
public partial class MiniLm { }

/// <summary>BERT-base's layer at 512 tokens.</summary>
[TransformerShape(512, 768, 3072, Heads = 12, Activation = Activation.Gelu)]
public partial class BertBase { }

/// <summary>Medium's widths at another sequence length: prepacked weights are shared across sequence lengths.</summary>
[TransformerShape(20, 96, 200, Heads = 3, Activation = Activation.Silu)]
public partial class SameWidthsAsMedium { }

/// <summary>
/// Causal heads of 301 rows and head dim 64: two chunks per head (two heads are too few for the pool), each walked in
/// blocks of score rows (304-float rows, 104 per block) with the one-row tail in the last block, and P·V in pairs of
/// row tiles over two 2-vector panels on Vector512.
/// </summary>
[TransformerShape(301, 128, 64, Heads = 2, Causal = true)]
public partial class LongCausal { }

/// <summary>
/// W1 + W2 of exactly 1 MiB at 21 tokens: the feed-forward network splits columns (the smallest weights that do), with
/// a one-row tail and GELU's separate pass.
/// </summary>
[TransformerShape(21, 256, 512, Heads = 2, Activation = Activation.Gelu)]
public partial class ColumnSplitTail { }

/// <summary>One causal head of 45 rows (a one-row tail): a batch of one is fewer (sequence, head) pairs than two threads, so
/// AttentionBackward takes its two-phase path.</summary>
[TransformerShape(45, 24, 32, Causal = true)]
public partial class OneHeadCausal { }

/// <summary>One bidirectional head, for the same path without the causal mask.</summary>
[TransformerShape(33, 40, 16)]
public partial class OneHeadBidirectional { }

/// <summary>
/// Hidden rows of 16.1 MiB per sequence (1030 × 4096 floats), above the column split's bound: the feed-forward network
/// splits rows (9 chunks, the last with a two-row tail), and W1 of 512 KiB is copied on the fly by each chunk's first
/// row tile.
/// </summary>
[TransformerShape(1030, 32, 4096)]
public partial class RowSplitPanels { }

/// <summary>Three rows, no full row tile: W1 and W2 of 512 KiB each are copied by PanelPacking.PackPanel before the tail tile.</summary>
[TransformerShape(3, 256, 512)]
public partial class ThreeRowPanels { }
