using FixedShapeAttention;

// all-MiniLM-L6-v2's layer shape (hidden 384, 12 heads of 32, FFN 1536, exact GELU) at each sequence-length bucket:
// the generator specialises every kernel of the encoder for each. Longer buckets cost more per call (attention is
// quadratic), so input is padded to the smallest bucket that holds it. 256 is the model's max_seq_length in
// sentence-transformers, so nothing longer is declared.

namespace FixedShapeAttention.Models.MiniLm;

/// <summary>MiniLM's layer at 16 tokens.</summary>
[TransformerShape(16, 384, 1536, Heads = 12, Activation = Activation.Gelu)]
public sealed partial class MiniLmSeq16;

/// <summary>MiniLM's layer at 32 tokens.</summary>
[TransformerShape(32, 384, 1536, Heads = 12, Activation = Activation.Gelu)]
public sealed partial class MiniLmSeq32;

/// <summary>MiniLM's layer at 64 tokens.</summary>
[TransformerShape(64, 384, 1536, Heads = 12, Activation = Activation.Gelu)]
public sealed partial class MiniLmSeq64;

/// <summary>MiniLM's layer at 128 tokens.</summary>
[TransformerShape(128, 384, 1536, Heads = 12, Activation = Activation.Gelu)]
public sealed partial class MiniLmSeq128;

/// <summary>MiniLM's layer at 256 tokens.</summary>
[TransformerShape(256, 384, 1536, Heads = 12, Activation = Activation.Gelu)]
public sealed partial class MiniLmSeq256;
