using System.Globalization;
using System.Linq;

namespace FixedShapeAttention.Generators.Emitters;

/// <summary>
/// Emits the <c>ISentenceEncoderShape</c> side of a <c>[SentenceEncoderShape]</c> class: its dimensions as static
/// members, the declaration of one private kernel class per bucket (whose kernels the existing emitters write, from
/// <see cref="SentenceEncoderSpec.BucketShape"/>), and the two factories the runtime calls: one packing, shared by
/// every bucket since the packed layout depends on the widths only, and one encoder per bucket.
/// </summary>
internal static class SentenceEncoderEmitter
{
    private const string Encoder = "global::FixedShapeAttention.Encoder";
    private const string Layers = "global::System.Collections.Generic.IReadOnlyList<" + Encoder + ".EncoderLayerWeights>";

    public static string Emit(SentenceEncoderSpec spec)
    {
        string bucketList = string.Join(", ", spec.Buckets.Select(Number));
        string name = spec.Type.DeclaredName;
        return FileHeaderEmitter.Write(spec.Type, w =>
        {
            var dimensions = new (string Doc, string Name, string Value)[]
            {
                ("Width of the hidden states and of the embeddings.", "HiddenSize", Number(spec.HiddenSize)),
                ("Attention heads per layer.", "Heads", Number(spec.Heads)),
                ("Hidden width of the feed-forward network.", "FfnWidth", Number(spec.FfnWidth)),
                ("The longest input in tokens; the last bucket.", "MaxLength", Number(spec.MaxLength)),
            };
            foreach ((string doc, string member, string value) in dimensions)
            {
                w.Line($"/// <summary>{doc}</summary>");
                w.Line($"public static int {member} => {value};");
                w.Line();
            }

            w.Line("/// <summary>The feed-forward activation the kernels were generated with.</summary>");
            w.Line($"public static global::FixedShapeAttention.Activation Activation => global::FixedShapeAttention.Activation.{spec.Activation};");
            w.Line();
            w.Line("/// <summary>The sequence lengths a batch is padded to, shortest first.</summary>");
            w.Line("public static global::System.Collections.Generic.IReadOnlyList<int> Buckets { get; } =");
            w.Line($"    new global::System.Collections.ObjectModel.ReadOnlyCollection<int>(new int[] {{ {bucketList} }});");
            w.Line();

            w.Line("/// <summary>Packs one layer for the generated kernels; the packing is the same for every bucket.</summary>");
            w.Line($"/// <exception cref=\"global::System.ArgumentException\">A tensor's length does not match {spec.HiddenSize} and {spec.FfnWidth}; the message names it.</exception>");
            w.Line($"public static {Encoder}.EncoderLayerWeights PackLayer({Encoder}.EncoderLayerParameters parameters) =>");
            w.Line($"    {Encoder}.EncoderLayerWeights.Pack<{spec.PackingTypeName}>(parameters);");
            w.Line();

            w.Line("/// <summary>A post-norm (BERT) encoder over <paramref name=\"layers\"/> on the kernels generated for <paramref name=\"sequenceLength\"/>.</summary>");
            w.Line($"/// <exception cref=\"global::System.ArgumentException\"><paramref name=\"sequenceLength\"/> is not one of {bucketList}, or the layers do not fit.</exception>");
            using (w.Block($"public static {Encoder}.ITransformerEncoder CreateEncoder(int sequenceLength, {Layers} layers, float layerNormEpsilon)"))
            {
                using (w.Block("switch (sequenceLength)"))
                {
                    foreach (int bucket in spec.Buckets)
                    {
                        string kernels = SentenceEncoderSpec.BucketTypeName(bucket);
                        w.Line($"case {Number(bucket)}: return new {Encoder}.TransformerEncoder<{kernels}>(layers, {Encoder}.LayerNormPlacement.PostNorm, layerNormEpsilon);");
                    }

                    w.Line("default: throw new global::System.ArgumentException(");
                    w.Line($"    $\"sequenceLength: expected one of {bucketList} (the buckets of {name}), got {{sequenceLength}}.\", nameof(sequenceLength));");
                }
            }

            foreach (int bucket in spec.Buckets)
            {
                w.Line();
                w.Line($"/// <summary>The encoder layer's kernels at {bucket} tokens.</summary>");
                w.Line(FileHeaderEmitter.GeneratedCode);
                w.Line($"private sealed partial class {SentenceEncoderSpec.BucketTypeName(bucket)};");
            }
        }, baseList: "global::FixedShapeAttention.Models.ISentenceEncoderShape");
    }

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);
}
