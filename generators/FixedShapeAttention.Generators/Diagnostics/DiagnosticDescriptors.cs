using Microsoft.CodeAnalysis;

namespace FixedShapeAttention.Generators.Diagnostics;

/// <summary>Every diagnostic the generator reports. Ids are contiguous; AnalyzerReleases.*.md lists them.</summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "FixedShapeAttention";

    public static readonly DiagnosticDescriptor DimensionNotPositive = new(
        id: "FSA0001",
        title: "Shape dimension must be positive",
        messageFormat: "{0} must be at least 1, but is {1}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor HeadsDoNotDivideEmbedding = new(
        id: "FSA0002",
        title: "Heads must divide EmbeddingDim",
        messageFormat: "Heads = {0} does not divide EmbeddingDim = {1}; every head needs EmbeddingDim / Heads whole columns",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor ClassNotPartial = new(
        id: "FSA0003",
        title: "Class with [TransformerShape] must be partial",
        messageFormat: "Class '{0}' must be declared partial so that the generated kernels can be added to it",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor ClassIsStatic = new(
        id: "FSA0004",
        title: "Class with [TransformerShape] must not be static",
        messageFormat: "Class '{0}' is static, but it must implement ITransformerKernels, which a static class cannot; remove 'static'",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor ClassIsGeneric = new(
        id: "FSA0005",
        title: "Class with [TransformerShape] must not be generic",
        messageFormat: "Class '{0}' is generic or nested in the generic type '{1}'; a fixed shape needs one concrete, non-generic class",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor DimensionTooLarge = new(
        id: "FSA0006",
        title: "Shape dimension above the supported maximum",
        messageFormat: "{0} = {1} is above the supported maximum of {2}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor ContainingTypeNotPartial = new(
        id: "FSA0007",
        title: "Types containing a [TransformerShape] class must be partial",
        messageFormat: "Class '{0}' is nested in '{1}', which must also be declared partial so that the generated kernels can be added",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnknownActivation = new(
        id: "FSA0008",
        title: "Activation is not a defined value",
        messageFormat: "Activation = {0} is not a defined Activation value (Relu, Gelu, GeluTanh or Silu)",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor ClassNamedLikeGeneratedMember = new(
        id: "FSA0009",
        title: "Class with [TransformerShape] must not be named like a generated member",
        messageFormat: "Class '{0}' has the name of a member the generator adds to it (Attention, FeedForward, PackFeedForward, Project, PackProjection, Shape, SequenceLength, EmbeddingDim, FfnDim, Heads, KeyValueHeads, Prefill, DecodeStep, CreateKeyValueCache); a member cannot share its class's name, so rename the class",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor KeyValueHeadsDoNotDivideHeads = new(
        id: "FSA0010",
        title: "KeyValueHeads must divide Heads",
        messageFormat: "KeyValueHeads = {0} does not divide Heads = {1}; grouped-query attention gives every key/value head the same number of query heads",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);
}
