namespace FixedShapeAttention.Models.Tests;

/// <summary>
/// A second model size, declared the way a user declares theirs: the tiny BERT of <see cref="TinyBertModel"/>
/// (hidden 8, 2 heads, FFN 16, 12 positions) with three buckets.
/// </summary>
[SentenceEncoderShape(TinyBertModel.Hidden, TinyBertModel.Heads, TinyBertModel.Ffn, MaxLength = TinyBertModel.MaxPositions, Buckets = new[] { 4, 8, 12 })]
internal sealed partial class TinyBertShape;

/// <summary>The tiny BERT's widths with the default buckets (16, … up to MaxLength: here MaxLength alone).</summary>
[SentenceEncoderShape(TinyBertModel.Hidden, TinyBertModel.Heads, TinyBertModel.Ffn, MaxLength = TinyBertModel.MaxPositions)]
internal sealed partial class TinyBertDefaultBucketsShape;

/// <summary>The tiny BERT's widths, but the tanh GELU: an ONNX BERT (erf GELU) never matches it.</summary>
[SentenceEncoderShape(TinyBertModel.Hidden, TinyBertModel.Heads, TinyBertModel.Ffn, Activation = Activation.GeluTanh, MaxLength = TinyBertModel.MaxPositions, Buckets = new[] { 12 })]
internal sealed partial class TinyBertTanhShape;
