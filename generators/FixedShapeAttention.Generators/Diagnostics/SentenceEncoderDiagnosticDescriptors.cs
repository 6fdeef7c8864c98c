using Microsoft.CodeAnalysis;

namespace FixedShapeAttention.Generators.Diagnostics;

/// <summary>
/// The diagnostics of <c>[SentenceEncoderShape]</c> that the kernel attribute has no counterpart for. Their ids are a
/// block of their own (FSA0101…), so the two attributes' rules can grow without renumbering; the rules the two share
/// (positive widths, heads dividing the width, partial and non-generic classes, a defined activation) report the
/// ids of <see cref="DiagnosticDescriptors"/>.
/// </summary>
internal static class SentenceEncoderDiagnosticDescriptors
{
    private const string Category = "FixedShapeAttention";

    public static readonly DiagnosticDescriptor BucketsNotIncreasing = new(
        id: "FSA0101",
        title: "Buckets must be strictly increasing lengths of at least 2",
        messageFormat: "Buckets = [{0}] must be strictly increasing lengths of at least 2 tokens ([CLS] and [SEP])",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor LastBucketNotMaxLength = new(
        id: "FSA0102",
        title: "The largest bucket must equal MaxLength",
        messageFormat: "The largest bucket, {0}, must equal MaxLength = {1}: input is truncated to MaxLength and padded to a bucket",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor TooManyBuckets = new(
        id: "FSA0103",
        title: "Too many buckets",
        messageFormat: "Buckets lists {0} lengths; at most {1} are allowed, since every bucket compiles its own kernels",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor BothShapeAttributes = new(
        id: "FSA0104",
        title: "A class cannot carry both [TransformerShape] and [SentenceEncoderShape]",
        messageFormat: "Class '{0}' carries both [TransformerShape] and [SentenceEncoderShape]; both add members such as Heads, so declare them on separate classes",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor ClassNamedLikeGeneratedMember = new(
        id: "FSA0105",
        title: "Class with [SentenceEncoderShape] must not be named like a generated member",
        messageFormat: "Class '{0}' has the name of a member the generator adds to it (HiddenSize, Heads, FfnWidth, Activation, MaxLength, Buckets, PackLayer, CreateEncoder or a bucket class Seq<n>); rename the class",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor MaxLengthTooShort = new(
        id: "FSA0106",
        title: "MaxLength must be at least 2",
        messageFormat: "MaxLength = {0} is below 2; every input holds at least [CLS] and [SEP]",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);
}
