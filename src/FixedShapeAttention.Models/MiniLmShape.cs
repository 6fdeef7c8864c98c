namespace FixedShapeAttention.Models;

/// <summary>
/// all-MiniLM-L6-v2's layer (hidden 384, 12 heads of 32, FFN 1536, exact GELU), also that of all-MiniLM-L12-v2,
/// paraphrase-MiniLM-L6-v2 and multi-qa-MiniLM-L6-cos-v1: the layer count comes from the model file. Input is padded
/// to the smallest bucket that holds it; 256 is these models' max_seq_length in sentence-transformers, so nothing
/// longer is declared. The buckets step by √2 rather than 2: on the benchmark's 1,000 mixed-length texts, doubling
/// buckets ran 1.43 padded tokens per real one, and every padded token costs as much as a real one.
/// </summary>
[SentenceEncoderShape(384, 12, 1536, Activation = Activation.Gelu, MaxLength = 256, Buckets = new[] { 16, 24, 32, 48, 64, 96, 128, 192, 256 })]
public sealed partial class MiniLmShape;
