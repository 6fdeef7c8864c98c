using FixedShapeAttention.Generators.Emitters;
using FixedShapeAttention.Generators.Model;
using FixedShapeAttention.Generators.Planning;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace FixedShapeAttention.Generators;

public sealed partial class TransformerShapeGenerator
{
    internal const string SentenceEncoderAttributeMetadataName = "FixedShapeAttention.Models.SentenceEncoderShapeAttribute";

    /// <summary>
    /// <c>[SentenceEncoderShape(hidden, heads, ffn, MaxLength = …, Buckets = …)]</c>: the same three tracked steps as
    /// <c>[TransformerShape]</c> (Parse, Diagnostics, Output), then one <see cref="ShapeSpec"/> per bucket
    /// (BucketShapes), each planned and emitted by the existing kernel path; so changing one bucket re-emits that
    /// bucket's kernels only, and moving the declaration re-emits nothing.
    /// </summary>
    private static void InitializeSentenceEncoders(IncrementalGeneratorInitializationContext context)
    {
        IncrementalValuesProvider<SentenceEncoderParseResult> parsed = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                SentenceEncoderAttributeMetadataName,
                static (node, _) => node is ClassDeclarationSyntax or RecordDeclarationSyntax,
                static (context, cancellationToken) => ParseSentenceEncoder(context, cancellationToken))
            .WithTrackingName(SentenceEncoderTrackingNames.Parse);

        IncrementalValuesProvider<EquatableArray<DiagnosticInfo>> diagnostics = parsed
            .Select(static (result, _) => result.Diagnostics)
            .WithTrackingName(SentenceEncoderTrackingNames.Diagnostics);

        IncrementalValuesProvider<SentenceEncoderSpec> encoders = parsed
            .Where(static result => result.Encoder is not null)
            .Select(static (result, _) => result.Encoder!)
            .WithTrackingName(SentenceEncoderTrackingNames.Output);

        IncrementalValuesProvider<ShapeSpec> bucketShapes = encoders
            .SelectMany(static (encoder, _) => encoder.BucketShapes())
            .WithTrackingName(SentenceEncoderTrackingNames.BucketShapes);

        context.RegisterSourceOutput(diagnostics, static (context, diagnostics) => Report(context, diagnostics));

        context.RegisterSourceOutput(encoders, static (context, encoder) =>
            context.AddSource($"{encoder.Type.HintPrefix}.SentenceEncoder.g.cs", SentenceEncoderEmitter.Emit(encoder)));

        // The same files the [TransformerShape] pipeline writes for a shape, from the same planner and emitters.
        context.RegisterSourceOutput(bucketShapes, static (context, shape) => EmitShape(context, shape));
    }
}
