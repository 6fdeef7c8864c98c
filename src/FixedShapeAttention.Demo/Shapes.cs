using FixedShapeAttention;

namespace FixedShapeAttention.Demo;

/// <summary>The worked example: four tokens of width 3, one head.</summary>
[TransformerShape(4, 3, 12)]
public partial class WorkedExample { }

[TransformerShape(13, 20, 36, Heads = 4, Causal = true, Activation = Activation.Gelu)]
public partial class OddCausal { }

/// <summary>all-MiniLM-L6-v2's layer shape at 128 tokens.</summary>
[TransformerShape(128, 384, 1536, Heads = 12)]
public partial class MiniLm { }
