using FixedShapeAttention;

namespace FixedShapeAttention.Demo;

/// <summary>The worked example: four tokens of width 3, one head.</summary>
[TransformerShape(4, 3, 12)]
public partial class WorkedExample { }

/// <summary>A small layer: 32 tokens, width 64.</summary>
[TransformerShape(32, 64, 256)]
public partial class Small { }

/// <summary>all-MiniLM-L6-v2's layer at 128 tokens.</summary>
[TransformerShape(128, 384, 1536, Heads = 12)]
public partial class MiniLm { }

/// <summary>The train demo's model (TrainCommand.Model): its attention and feed-forward network run on these generated kernels.</summary>
[TransformerShape(128, 128, 512, Heads = 4, Causal = true, Activation = Activation.GeluTanh)]
public partial class DemoGpt { }
