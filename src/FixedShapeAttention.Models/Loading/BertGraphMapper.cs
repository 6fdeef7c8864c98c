using System.IO;
using System.Linq;
using FixedShapeAttention.Models.Onnx;
using FixedShapeAttention.Encoder;

namespace FixedShapeAttention.Models.Loading;

/// <summary>
/// Maps a parsed ONNX model of a BERT-style encoder to <see cref="BertWeights"/>: checks the model header, finds the
/// embeddings by name, follows the graph from the embedding LayerNorm through each layer (<see cref="EncoderLayerMapper"/>),
/// and assembles the <see cref="BertConfig"/> from the sizes found on the way. The pooler and anything after the last
/// layer are ignored.
/// </summary>
internal static class BertGraphMapper
{
    public static BertWeights Map(ModelProto model)
    {
        GraphProto graphProto = CheckHeader(model);
        var graph = new OnnxGraph(graphProto);
        InitializerNames names = InitializerNames.Find(graph);

        // The word table fixes the vocabulary and hidden sizes that every other tensor is then checked against.
        string wordName = names.Embeddings("word_embeddings.weight");
        string positionName = names.Embeddings("position_embeddings.weight");
        string typeName = names.Embeddings("token_type_embeddings.weight");
        TensorProto word = GraphExpect.Initializer(graph, wordName, "embeddings", "word embeddings");
        TensorProto position = GraphExpect.Initializer(graph, positionName, "embeddings", "position embeddings");
        TensorProto tokenType = GraphExpect.Initializer(graph, typeName, "embeddings", "token-type embeddings");
        int vocabSize = TensorShapes.Dimension(word, "word embeddings", rank: 2, index: 0);
        int hidden = TensorShapes.Dimension(word, "word embeddings", rank: 2, index: 1);
        int maxPositions = TensorShapes.Dimension(position, "position embeddings", rank: 2, index: 0);
        int typeVocabSize = TensorShapes.Dimension(tokenType, "token-type embeddings", rank: 2, index: 0);

        string gammaName = names.Embeddings("LayerNorm.weight");
        string betaName = names.Embeddings("LayerNorm.bias");
        LayerNormPattern.Match embeddingNorm = LayerNormPattern.Find(graph, gammaName, betaName, "embedding LayerNorm");
        EmbeddingSumPattern.Check(graph, embeddingNorm.Input, [wordName, positionName, typeName], "embedding LayerNorm");

        var layers = new EncoderLayerParameters[names.LayerCount];
        string layerInput = embeddingNorm.Output;
        int heads = 0, intermediateSize = 0;
        for (int i = 0; i < layers.Length; i++)
        {
            EncoderLayerMapper.Result layer = EncoderLayerMapper.Map(graph, names, i, layerInput, hidden, embeddingNorm.Epsilon);
            if (i > 0 && (layer.Heads != heads || layer.IntermediateSize != intermediateSize))
            {
                throw new InvalidDataException(
                    $"layer {i}: {layer.Heads} heads and intermediate size {layer.IntermediateSize} differ from layer 0's " +
                    $"{heads} and {intermediateSize}; BertConfig describes identical layers.");
            }

            (heads, intermediateSize) = (layer.Heads, layer.IntermediateSize);
            layers[i] = layer.Weights;
            layerInput = layer.Output;
        }

        return new BertWeights
        {
            Config = new BertConfig(vocabSize, hidden, layers.Length, heads, intermediateSize, maxPositions, typeVocabSize, embeddingNorm.Epsilon),
            WordEmbeddings = TensorReader.ReadFloats(word, "word embeddings", vocabSize, hidden),
            PositionEmbeddings = TensorReader.ReadFloats(position, "position embeddings", maxPositions, hidden),
            TokenTypeEmbeddings = TensorReader.ReadFloats(tokenType, "token-type embeddings", typeVocabSize, hidden),
            EmbeddingLayerNormGamma = TensorReader.ReadFloats(graph.Initializer(gammaName)!, "embedding LayerNorm γ", hidden),
            EmbeddingLayerNormBeta = TensorReader.ReadFloats(graph.Initializer(betaName)!, "embedding LayerNorm β", hidden),
            Layers = layers,
        };
    }

    private static GraphProto CheckHeader(ModelProto model)
    {
        if (!model.HasIrVersion)
            throw new InvalidDataException("the model has no ir_version: not an ONNX ModelProto (or one cut short).");
        if (!model.OpsetImport.Any(o => o.Domain is "" or "ai.onnx"))
            throw new InvalidDataException("the model imports no operator set of the default ONNX domain (opset_import).");
        return model.Graph ?? throw new InvalidDataException("the model has no graph.");
    }
}
