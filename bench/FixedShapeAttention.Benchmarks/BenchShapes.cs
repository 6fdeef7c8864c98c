using FixedShapeAttention;

namespace FixedShapeAttention.Benchmarks;

/// <summary>S0: the worked example, 4 tokens of width 3.</summary>
[TransformerShape(4, 3, 12)]
public partial class S0 { }

/// <summary>S1: a small single-head layer.</summary>
[TransformerShape(32, 64, 256)]
public partial class S1 { }

/// <summary>S2: all-MiniLM-L6-v2's layer at 128 tokens.</summary>
[TransformerShape(128, 384, 1536, Heads = 12)]
public partial class S2 { }

/// <summary>S3: BERT-base's layer at 512 tokens.</summary>
[TransformerShape(512, 768, 3072, Heads = 12)]
public partial class S3 { }

/// <summary>Odd: nothing is a multiple of a vector; row and column tails everywhere.</summary>
[TransformerShape(37, 100, 300, Heads = 4)]
public partial class Odd { }
