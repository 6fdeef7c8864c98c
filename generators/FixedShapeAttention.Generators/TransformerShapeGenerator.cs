using FixedShapeAttention.Generators.Emitters;
using FixedShapeAttention.Generators.Model;
using FixedShapeAttention.Generators.Planning;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace FixedShapeAttention.Generators;

/// <summary>
/// Turns <c>[TransformerShape(seq, dim, ffn, Heads = h)]</c> on a partial class into kernels specialised for that
/// shape. Pipeline: one ForAttributeWithMetadataName step parses each declaration into equatable data (Parse),
/// which splits into its diagnostics (Diagnostics) and its shape (Output), so that moving a declaration
/// re-reports diagnostics without re-emitting kernels; planning and emission run only for a changed shape.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class TransformerShapeGenerator : IIncrementalGenerator
{
    internal const string AttributeMetadataName = "FixedShapeAttention.TransformerShapeAttribute";

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        IncrementalValuesProvider<ParseResult> parsed = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                AttributeMetadataName,
                static (node, _) => node is ClassDeclarationSyntax or RecordDeclarationSyntax,
                static (context, cancellationToken) => Parse(context, cancellationToken))
            .WithTrackingName(TrackingNames.Parse);

        IncrementalValuesProvider<EquatableArray<DiagnosticInfo>> diagnostics = parsed
            .Select(static (result, _) => result.Diagnostics)
            .WithTrackingName(TrackingNames.Diagnostics);

        IncrementalValuesProvider<ShapeSpec> shapes = parsed
            .Where(static result => result.Shape is not null)
            .Select(static (result, _) => result.Shape!)
            .WithTrackingName(TrackingNames.Output);

        context.RegisterSourceOutput(diagnostics, static (context, diagnostics) => Report(context, diagnostics));

        context.RegisterSourceOutput(shapes, static (context, shape) => EmitShape(context, shape));

        InitializeSentenceEncoders(context);
    }

    private static void Report(SourceProductionContext context, EquatableArray<DiagnosticInfo> diagnostics)
    {
        foreach (DiagnosticInfo diagnostic in diagnostics)
        {
            context.ReportDiagnostic(diagnostic.ToDiagnostic());
        }
    }

    /// <summary>Plans a shape and writes its files: one per kernel family, for both pipelines.</summary>
    private static void EmitShape(SourceProductionContext context, ShapeSpec shape)
    {
        KernelPlan plan = KernelPlanner.Plan(shape);
        string hint = shape.Type.HintPrefix;
        context.AddSource($"{hint}.Shape.g.cs", ShapeEmitter.Emit(plan));
        context.AddSource($"{hint}.Attention.g.cs", AttentionEmitter.Emit(plan));
        context.AddSource($"{hint}.FeedForward.g.cs", FeedForwardEmitter.Emit(plan));
        context.AddSource($"{hint}.Projection.g.cs", ProjectionEmitter.Emit(plan));
        context.AddSource($"{hint}.Training.g.cs", TrainingEmitter.Emit(plan));
    }
}
