namespace FixedShapeAttention.Models;

/// <summary>
/// all-MiniLM-L6-v2's layer (hidden 384, 12 heads of 32, FFN 1536, exact GELU), also that of all-MiniLM-L12-v2,
/// paraphrase-MiniLM-L6-v2 and multi-qa-MiniLM-L6-cos-v1: the layer count comes from the model file. Input is padded
/// to the smallest of 16, 32, 64, 128 or 256 tokens that holds it (attention is quadratic, so shorter buckets are
/// cheaper); 256 is these models' max_seq_length in sentence-transformers, so nothing longer is declared.
/// </summary>
[SentenceEncoderShape(384, 12, 1536, Activation = Activation.Gelu, MaxLength = 256, Buckets = new[] { 16, 32, 64, 128, 256 })]
public sealed partial class MiniLmShape;
